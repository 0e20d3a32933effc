#!/usr/bin/env python3
"""Writes a Linux kernel's symbols as an ELF file gdb loads with `symbol-file`, for debugging the
kernel under `rrvm replay --gdb` by function name.

SOURCE is a symbol list in System.map form ("ADDRESS TYPE NAME" a line, as System.map and
/proc/kallsyms are), or the kernel itself (a bzImage such as Debian's /boot/vmlinuz-*, or an ELF
vmlinux), whose kallsyms tables hold every symbol /proc/kallsyms would show. Debian's
/boot/System.map-* is a one-line placeholder (the real one is in the -dbg package), so the kernel
image is the source that is always at hand. rrvm loads Linux without KASLR (boot with `nokaslr`
too), so these link-time addresses are the run-time ones.

The ELF holds no code or data, only symbols: text symbols (t/T/w/W) as functions, the others as
objects, each sized to the next symbol's address, in NOBITS sections covering their ranges; gdb
reads the code from the target. The output is the same bytes for the same input.

Usage: tools/linux-symbols.py SOURCE OUT.elf
       tools/linux-symbols.py --system-map SOURCE OUT.map   (the symbols as a System.map)
"""
import bz2
import lzma
import re
import shutil
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass

# Exit statuses, one per kind of failure.
EXIT_USAGE = 64
EXIT_UNREADABLE = 66
EXIT_BAD_MAP = 65
EXIT_NO_SYMBOLS = 67
EXIT_BAD_IMAGE = 68
EXIT_CANT_WRITE = 73

TEXT_TYPES = "tTwW"
ABSOLUTE_TYPES = "aA"
OBJECT_TYPES = "bBdDgGrRsSvVu"
WEAK_TYPES = "wWvV"

# Symbols further apart than this start a new section: without it the per-CPU symbols (offsets
# from 0) would share one section with, and size themselves up to, the kernel at -2 GiB.
LARGEST_GAP_IN_A_SECTION = 64 << 20


class Failure(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


@dataclass
class Symbol:
    address: int
    type: str
    name: str


# --- Reading a System.map -------------------------------------------------------------------


def parse_map(text, source):
    symbols = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        # /proc/kallsyms adds "[module]" to module symbols.
        if len(fields) == 4 and fields[3].startswith("[") and fields[3].endswith("]"):
            fields = fields[:3]
        if len(fields) != 3 and "System.map" in line:
            raise Failure(EXIT_NO_SYMBOLS,
                          f"{source} is a placeholder (\"{line.strip()}\"): pass the kernel "
                          "image instead, e.g. /boot/vmlinuz-...")
        if len(fields) != 3 or len(fields[1]) != 1:
            raise Failure(EXIT_BAD_MAP,
                          f"{source}:{number}: expected \"ADDRESS TYPE NAME\", got \"{line.strip()}\"")
        try:
            address = int(fields[0], 16)
        except ValueError:
            address = -1
        if not 0 <= address < 1 << 64:
            raise Failure(EXIT_BAD_MAP, f"{source}:{number}: \"{fields[0]}\" is not a 64-bit hex address")
        if fields[1] not in TEXT_TYPES + ABSOLUTE_TYPES + OBJECT_TYPES:
            raise Failure(EXIT_BAD_MAP, f"{source}:{number}: unknown symbol type \"{fields[1]}\"")
        symbols.append(Symbol(address, fields[1], fields[2]))
    return symbols


# --- Reading kallsyms from a kernel image ----------------------------------------------------


def decompress_payload(payload, source):
    """The vmlinux inside a bzImage payload, for the formats Python reads (and zstd through the
    zstd program)."""
    try:
        if payload.startswith(b"\x1f\x8b"):
            return zlib.decompressobj(wbits=31).decompress(payload)
        if payload.startswith(b"\xfd7zXZ\x00"):
            return lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(payload)
        if payload.startswith(b"\x5d\x00\x00"):
            return lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(payload)
        if payload.startswith(b"BZh"):
            return bz2.BZ2Decompressor().decompress(payload)
        if payload.startswith(b"\x28\xb5\x2f\xfd") and shutil.which("zstd"):
            return subprocess.run(["zstd", "-dc"], input=payload, capture_output=True,
                                  check=True).stdout
    except (OSError, EOFError, zlib.error, lzma.LZMAError, subprocess.CalledProcessError) as error:
        raise Failure(EXIT_BAD_IMAGE, f"{source}: cannot decompress the kernel: {error}")
    raise Failure(EXIT_BAD_IMAGE,
                  f"{source}: kernel compressed in a format this tool cannot read (magic "
                  f"{payload[:4].hex()}): decompress it first and pass the vmlinux")


def bzimage_vmlinux(image, source):
    """Boot protocol: the setup is (setup_sects + 1) sectors; payload_offset/_length (0x248,
    0x24c) locate the compressed vmlinux in the protected-mode part."""
    setup_sectors = image[0x1F1] or 4
    offset, length = struct.unpack_from("<II", image, 0x248)
    start = (setup_sectors + 1) * 512 + offset
    if length == 0 or start + length > len(image):
        raise Failure(EXIT_BAD_IMAGE, f"{source}: the bzImage's payload lies outside the file")
    return decompress_payload(image[start:start + length], source)


@dataclass
class Section:
    address: int
    data: bytes
    executable: bool


def elf_sections(vmlinux, source):
    """The vmlinux's loaded PROGBITS sections: the kallsyms tables are in one, and the code ones
    check what the tables decode to."""
    if vmlinux[4] != 2 or vmlinux[5] != 1:
        raise Failure(EXIT_BAD_IMAGE, f"{source}: not a little-endian ELF64 kernel")
    table = struct.unpack_from("<Q", vmlinux, 0x28)[0]
    entry_size, count = struct.unpack_from("<HH", vmlinux, 0x3A)
    sections = []
    for index in range(count):
        at = table + index * entry_size
        if at + 64 > len(vmlinux):
            raise Failure(EXIT_BAD_IMAGE, f"{source}: section table past the end of the file")
        _, kind, flags, address, offset, size = struct.unpack_from("<IIQQQQ", vmlinux, at)
        progbits, alloc, execinstr = 1, 2, 4
        if kind == progbits and flags & alloc and offset + size <= len(vmlinux):
            sections.append(Section(address, vmlinux[offset:offset + size],
                                    bool(flags & execinstr)))
    return sections


def u16s(data, at, count):
    return struct.unpack_from(f"<{count}H", data, at)


def u32(data, at):
    return struct.unpack_from("<I", data, at)[0]


FIRST_TOKEN_OFFSETS = re.compile(rb"(?=\x00\x00[\x02-\x40]\x00)")


def token_tables(data):
    """(start of kallsyms_token_table, its 256 tokens, start of kallsyms_token_index) for each
    place in `data` that looks like them: 256 increasing 16-bit offsets from 0, right after (up to
    7 bytes of alignment) 256 NUL-terminated strings starting at those offsets."""
    # Offsets 0, then 1 + the first token's length (tokens are short).
    for match in FIRST_TOKEN_OFFSETS.finditer(data):
        at = match.start()
        if at % 2 == 0 and at <= len(data) - 512:
            index = u16s(data, at, 256)
            if index[1] > 0 and all(index[i] < index[i + 1] for i in range(255)):
                for padding in range(8):
                    end = at - padding
                    if end < 2 or data[end - 1] != 0:
                        continue
                    start = data.rfind(b"\0", 0, end - 1) + 1 - index[255]
                    if start >= 0 and all(data[start + i - 1] == 0 for i in index[1:]):
                        tokens = [data[start + i:data.index(b"\0", start + i)] for i in index]
                        if all(token and token.isascii() for token in tokens):
                            yield start, tokens, at
                        break


def marker_arrays(data, before):
    """(start, values) of each kallsyms_markers candidate ending (up to alignment) at `before`,
    directly or behind kallsyms_seqs_of_names (3 bytes a symbol, kernels from 6.2 and some 6.1
    stable releases): 32-bit offsets into kallsyms_names, one per 256 symbols, from 0."""
    def array_ending_at(end):
        values = []
        at = end
        while at >= 4:
            at -= 4
            value = u32(data, at)
            if values and value >= values[-1]:
                return None
            values.append(value)
            if value == 0:
                return at, values[::-1]
        return None

    for padding in range(0, 8, 4):
        found = array_ending_at(before - padding)
        if found and len(found[1]) > 1:
            yield found
    # kallsyms_seqs_of_names is a permutation of 0..N-1 as 24-bit big-endian numbers.
    end = before
    while end > 0 and data[end - 1] == 0 and (before - end) < 8:
        end -= 1
    for trailing in range(before - end + 1):
        stop = before - trailing
        seen, at = set(), stop
        while at >= 3:
            value = int.from_bytes(data[at - 3:at], "big")
            if value in seen or value >= 1 << 24:
                break
            seen.add(value)
            at -= 3
        count = len(seen)
        if count and max(seen) == count - 1:
            for padding in range(0, 8, 4):
                found = array_ending_at(at - padding)
                if found and (count + 255) // 256 == len(found[1]):
                    yield found


def names_before(data, markers_start, markers, tokens):
    """kallsyms_num_syms and the expanded kallsyms_names ("<type><name>") that end at the
    markers: a length (7 bits a byte, little end first, as 6.1 writes lengths of 128 and up)
    then that many token numbers, for each of num_syms symbols; the markers say where every
    256th starts."""
    last = markers[-1]
    at = (markers_start - last - 8) & ~3
    lowest = max(0, markers_start - last - 256 * 1024)
    while at >= lowest:
        count = u32(data, at)
        if (count + 255) // 256 == len(markers):
            for names_start in (at + 4, at + 8):
                decoded = decode_names(data, names_start, count, markers, markers_start, tokens)
                if decoded is not None:
                    return at, decoded
        at -= 4
    return None


def decode_names(data, start, count, markers, end, tokens):
    names = []
    at = start
    for index in range(count):
        if index % 256 == 0 and at - start != markers[index // 256]:
            return None
        if at >= end:
            return None
        length = data[at]
        at += 1
        if length & 0x80:
            length = (length & 0x7F) | data[at] << 7
            at += 1
        names.append(b"".join(tokens[t] for t in data[at:at + length]).decode("ascii", "replace"))
        at += length
    return names if 0 <= end - at < 8 else None


def addresses(data, at, count, relative_base):
    """kallsyms_offsets with CONFIG_KALLSYMS_ABSOLUTE_PERCPU: a non-negative offset is the
    address itself (per-CPU symbols), a negative one is relative_base - 1 - offset."""
    offsets = struct.unpack_from(f"<{count}i", data, at)
    return [offset if offset >= 0 else (relative_base - 1 - offset) & (1 << 64) - 1
            for offset in offsets]


def offsets_candidates(data, num_syms_at, token_index_at, count):
    """(offsets start, relative_base) where 6.1 puts them (before kallsyms_num_syms) and where
    later kernels do (after kallsyms_token_index)."""
    base_at = num_syms_at - 8
    if base_at >= 4 * count:
        yield (base_at - 4 * count) & ~7, struct.unpack_from("<Q", data, base_at)[0]
    after_index = (token_index_at + 512 + 7) & ~7
    base_at = (after_index + 4 * count + 7) & ~7
    if base_at + 8 <= len(data):
        yield after_index, struct.unpack_from("<Q", data, base_at)[0]


def plausible(symbols, sections):
    """Right decodings list the addresses in order (kallsyms sorts them) and put every t/T
    symbol in a code section (end included: _etext)."""
    code = [(s.address, s.address + len(s.data)) for s in sections if s.executable]
    return all(a.address <= b.address for a, b in zip(symbols, symbols[1:])) and all(
        any(start <= s.address <= end for start, end in code) for s in symbols if s.type in "tT")


def kallsyms(vmlinux, source):
    sections = elf_sections(vmlinux, source)
    for section in sections:
        data = section.data
        for table_start, tokens, index_at in token_tables(data):
            for markers_start, markers in marker_arrays(data, table_start):
                found = names_before(data, markers_start, markers, tokens)
                if not found:
                    continue
                num_syms_at, names = found
                for offsets_at, base in offsets_candidates(data, num_syms_at, index_at,
                                                           len(names)):
                    symbols = [Symbol(address, name[0], name[1:]) for address, name in
                               zip(addresses(data, offsets_at, len(names), base), names)]
                    if plausible(symbols, sections):
                        return symbols
    raise Failure(EXIT_BAD_IMAGE, f"{source}: no kallsyms tables found (a kernel built without "
                  "CONFIG_KALLSYMS, or a layout this tool does not know)")


def read_symbols(path):
    try:
        with open(path, "rb") as f:
            content = f.read()
    except OSError as error:
        raise Failure(EXIT_UNREADABLE, f"cannot read {path}: {error.strerror}")
    if content[0x202:0x206] == b"HdrS":
        symbols = kallsyms(bzimage_vmlinux(content, path), path)
    elif content.startswith(b"\x7fELF"):
        symbols = kallsyms(content, path)
    else:
        try:
            text = content.decode("ascii")
        except UnicodeDecodeError:
            raise Failure(EXIT_BAD_MAP, f"{path}: neither a kernel image nor a System.map (not text)")
        symbols = parse_map(text, path)
    if not any(s.type in TEXT_TYPES for s in symbols):
        raise Failure(EXIT_NO_SYMBOLS, f"{path}: no text symbols")
    if all(s.address == 0 for s in symbols):
        raise Failure(EXIT_NO_SYMBOLS, f"{path}: every address is 0 (/proc/kallsyms read without "
                      "CAP_SYSLOG hides them: read it as root)")
    return symbols


# --- Writing the ELF -------------------------------------------------------------------------

ELF_HEADER_SIZE, SECTION_HEADER_SIZE, SYMBOL_SIZE = 64, 64, 24
SHT_SYMTAB, SHT_STRTAB, SHT_NOBITS = 2, 3, 8
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4
STT_NOTYPE, STT_OBJECT, STT_FUNC = 0, 1, 2
STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
SHN_ABS = 0xFFF1
ET_EXEC, EM_X86_64 = 2, 62


@dataclass
class Placed:
    symbol: Symbol
    size: int
    section: int  # index in the section header table, or SHN_ABS


def place(symbols):
    """Sections from runs of neighbouring addresses of one kind (code when a text symbol is
    there, data otherwise), sizes from the next address. Returns the placed symbols and (name,
    address, size, flags) a section."""
    at_address = {}
    for s in symbols:
        if s.type not in ABSOLUTE_TYPES:
            at_address.setdefault(s.address, []).append(s)

    def is_text(address):
        return any(s.type in TEXT_TYPES for s in at_address[address])

    addresses = sorted(at_address)
    sections, placed, counts, start = [], [], {}, None
    for address, successor in zip(addresses, addresses[1:] + [None]):
        start = address if start is None else start
        gap = None if successor is None else successor - address
        size = gap if gap is not None and gap <= LARGEST_GAP_IN_A_SECTION else 0
        index = len(sections) + 1  # section header 0 is the null section
        placed.extend(Placed(s, size, index) for s in at_address[address])
        if size == 0 or is_text(successor) != is_text(address):
            prefix = ".text" if is_text(address) else ".data"
            counts[prefix] = counts.get(prefix, 0) + 1
            name = prefix if counts[prefix] == 1 else f"{prefix}.{counts[prefix]}"
            flags = SHF_ALLOC | (SHF_EXECINSTR if is_text(address) else SHF_WRITE)
            sections.append((name, start, address + max(size, 1) - start, flags))
            start = None
    placed.extend(Placed(s, 0, SHN_ABS) for s in symbols if s.type in ABSOLUTE_TYPES)
    return placed, sections


class StringTable:
    def __init__(self):
        self.data = bytearray(b"\0")
        self.offsets = {}

    def add(self, text):
        if text not in self.offsets:
            self.offsets[text] = len(self.data)
            self.data += text.encode() + b"\0"
        return self.offsets[text]


def elf_image(symbols):
    placed, sections = place(symbols)
    binding = {True: STB_LOCAL, False: STB_GLOBAL}
    # ELF wants the local symbols first; sh_info of .symtab is the first non-local.
    def bind(p):
        if p.symbol.type in WEAK_TYPES:
            return STB_WEAK
        return binding[p.symbol.type.islower()]

    placed.sort(key=lambda p: (bind(p) != STB_LOCAL, p.symbol.address, p.symbol.name))
    strings = StringTable()
    table = bytearray(SYMBOL_SIZE)
    first_global = 1
    for p in placed:
        kind = STT_FUNC if p.symbol.type in TEXT_TYPES else (
            STT_NOTYPE if p.section == SHN_ABS else STT_OBJECT)
        if bind(p) == STB_LOCAL:
            first_global += 1
        table += struct.pack("<IBBHQQ", strings.add(p.symbol.name), bind(p) << 4 | kind, 0,
                             p.section, p.symbol.address, p.size)

    names = StringTable()
    headers = [struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)]
    for name, address, size, flags in sections:
        headers.append(struct.pack("<IIQQQQIIQQ", names.add(name), SHT_NOBITS, flags, address,
                                   ELF_HEADER_SIZE, size, 0, 0, 1, 0))
    symtab_index = len(headers)
    body = bytearray()

    def add_table(name, kind, data, link, info, entry_size, align):
        body.extend(b"\0" * (-len(body) % align))
        offset = ELF_HEADER_SIZE + len(body)
        body.extend(data)
        headers.append(struct.pack("<IIQQQQIIQQ", names.add(name), kind, 0, 0, offset, len(data),
                                   link, info, align, entry_size))

    add_table(".symtab", SHT_SYMTAB, table, symtab_index + 1, first_global, SYMBOL_SIZE, 8)
    add_table(".strtab", SHT_STRTAB, strings.data, 0, 0, 0, 1)
    names.add(".shstrtab")  # before the table is copied: it names itself
    add_table(".shstrtab", SHT_STRTAB, names.data, 0, 0, 0, 1)
    body.extend(b"\0" * (-len(body) % 8))
    header_table = ELF_HEADER_SIZE + len(body)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # ELF64, little endian, version 1, SysV
    header = ident + struct.pack("<HHIQQQIHHHHHH", ET_EXEC, EM_X86_64, 1, 0, 0, header_table, 0,
                                 ELF_HEADER_SIZE, 0, 0, SECTION_HEADER_SIZE, len(headers),
                                 len(headers) - 1)
    return header + bytes(body) + b"".join(headers)


def system_map(symbols):
    ordered = sorted(symbols, key=lambda s: s.address)
    return "".join(f"{s.address:016x} {s.type} {s.name}\n" for s in ordered).encode()


def main(argv):
    args = argv[1:]
    as_map = bool(args) and args[0] == "--system-map"
    if as_map:
        args = args[1:]
    if len(args) != 2:
        print(f"usage: {argv[0]} [--system-map] SOURCE OUT", file=sys.stderr)
        return EXIT_USAGE
    source, out = args
    try:
        symbols = read_symbols(source)
        content = system_map(symbols) if as_map else elf_image(symbols)
        try:
            with open(out, "wb") as f:
                f.write(content)
        except OSError as error:
            raise Failure(EXIT_CANT_WRITE, f"cannot write {out}: {error.strerror}")
    except Failure as failure:
        print(f"linux-symbols: {failure}", file=sys.stderr)
        return failure.status
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
