#include "vmm/boot/kernel_loader.h"

#include <cstring>

#include "vmm/boot/boot_file.h"
#include "vmm/boot/boot_layout.h"
#include "vmm/boot/boot_structures.h"
#include "vmm/boot/bzimage.h"
#include "vmm/boot/linux_loader.h"

namespace rrvm {

namespace {

// Like GRUB and QEMU, the command line a kernel sees starts with the kernel's path.
std::string multiboot_cmdline(const BootOptions& options) {
  return options.kernel_path + " " + options.cmdline;
}

} // namespace

BootResult load_kernel(GuestMemory& memory, const BootOptions& options) {
  return load_kernel(memory, options, read_boot_file("kernel", options.kernel_path));
}

BootResult load_kernel(GuestMemory& memory, const BootOptions& options, std::vector<uint8_t> file) {
  if (file.empty())
    throw Error(ExitCode::kBadInput, "kernel " + options.kernel_path + ": file is empty");
  const bool linux =
      !options.flat &&
      (looks_like_bzimage(file) ||
       (looks_like_elf(file) && is_linux_vmlinux(parse_elf(file, options.kernel_path))));
  if (!linux && (options.initrd || !options.initrd_path.empty()))
    throw Error(ExitCode::kUsage,
                "--initrd is for Linux kernels; " + options.kernel_path + " is not one");
  if (options.flat) return load_flat(memory, options, std::move(file));
  if (looks_like_bzimage(file)) return load_linux_bzimage(memory, options, std::move(file));
  if (!looks_like_elf(file))
    throw Error(ExitCode::kBadInput, options.kernel_path +
                                         ": not a Linux bzImage (no HdrS setup header) and not an "
                                         "ELF file (use --flat ADDR for a raw binary)");
  ElfFile elf = parse_elf(file, options.kernel_path);
  if (is_linux_vmlinux(elf)) return load_linux_vmlinux(memory, options, std::move(file), elf);
  if (elf.is64) return load_elf64(memory, options, std::move(file));
  return load_multiboot(memory, options, std::move(file));
}

BootResult load_flat(GuestMemory& memory, const BootOptions& options, std::vector<uint8_t> file) {
  const uint64_t address = options.flat_address;
  if (address < boot_layout::kStart || address + file.size() > 0x100000)
    throw Error(ExitCode::kBadInput,
                options.kernel_path + ": a flat binary must lie within 0x500-0x100000 (real mode)");
  if (!memory.contains(address, file.size()))
    throw Error(ExitCode::kBadInput, options.kernel_path + " does not fit in guest memory");
  memory.write(address, file);

  BootResult result;
  result.image.kind = KernelKind::kFlat;
  result.image.path = options.kernel_path;
  result.image.file = std::move(file);
  result.image.entry = address;
  result.image.code_bits = 16;
  result.image.segments.push_back({address, 0, result.image.file.size(), result.image.file.size()});
  CpuState& cpu = result.cpu;
  // CS:IP addresses the image as boot sectors expect (0000:7C00 style) when it lies in the first
  // 64 KiB, else a segment that puts IP in its low 16 bits. SS:SP starts just below the image.
  uint16_t cs = address < 0x10000 ? 0 : static_cast<uint16_t>((address >> 4) & 0xf000);
  Segment code;
  code.selector = cs;
  code.base = uint64_t(cs) << 4;
  code.type = 0xb;
  cpu.cs = code;
  Segment data;
  data.type = 0x3;
  cpu.ds = cpu.es = cpu.fs = cpu.gs = cpu.ss = data;
  cpu.rip = address - code.base;
  cpu.gpr[kRsp] = address < 0x10000 ? address : 0xfffe;
  cpu.gpr[kRdx] = 0x80; // boot drive, as a BIOS passes it
  Segment ldt;
  ldt.type = 2;
  ldt.s = 0;
  cpu.ldtr = ldt;
  Segment tr;
  tr.type = 3; // busy 16-bit TSS
  tr.s = 0;
  cpu.tr = tr;
  cpu.idt = {0, 0x3ff}; // real-mode interrupt vector table
  return result;
}

BootResult load_multiboot(GuestMemory& memory, const BootOptions& options,
                          std::vector<uint8_t> file) {
  constexpr uint32_t kMagic = 0x1badb002;
  const std::string& path = options.kernel_path;
  size_t search = std::min<size_t>(file.size(), 8192);
  const uint8_t* header = nullptr;
  for (size_t off = 0; off + 12 <= search; off += 4) {
    uint32_t w[3];
    std::memcpy(w, file.data() + off, sizeof w);
    if (w[0] == kMagic && uint32_t(w[0] + w[1] + w[2]) == 0) {
      header = file.data() + off;
      break;
    }
  }
  if (!header)
    throw Error(ExitCode::kBadInput, path + ": ELF32 kernel without a multiboot header (rrvm "
                                            "boots 32-bit kernels through multiboot v1)");
  uint32_t flags;
  std::memcpy(&flags, header + 4, 4);
  if (flags & 0xfff8)
    throw Error(
        ExitCode::kBadInput, path +
                                 ": multiboot header requires features rrvm lacks "
                                 "(flags 0x" +
                                 [&] {
                                   char b[16];
                                   std::snprintf(b, sizeof b, "%x", flags & 0xfff8);
                                   return std::string(b);
                                 }() +
                                 ")");
  ElfFile elf = parse_elf(file, path);
  BootResult result;
  result.image.kind = KernelKind::kMultiboot;
  result.image.path = path;
  result.image.entry = elf.entry;
  result.image.code_bits = 32;
  result.image.segments = load_elf_segments(memory, elf, file, path);
  result.image.file = std::move(file);

  CpuState& cpu = result.cpu;
  write_boot_gdt(memory, cpu);
  cpu.cs = flat_code32();
  cpu.ds = cpu.es = cpu.fs = cpu.gs = cpu.ss = flat_data32();
  cpu.cr0 = cr0::kPE | cr0::kET;
  cpu.rip = elf.entry;
  cpu.rflags = rflags::kFixed1;
  cpu.gpr[kRax] = 0x2badb002;
  cpu.gpr[kRbx] = write_multiboot_info(memory, multiboot_cmdline(options));
  return result;
}

BootResult load_elf64(GuestMemory& memory, const BootOptions& options, std::vector<uint8_t> file) {
  using namespace boot_layout;
  ElfFile elf = parse_elf(file, options.kernel_path);
  BootResult result;
  result.image.kind = KernelKind::kElf64;
  result.image.path = options.kernel_path;
  result.image.entry = elf.entry;
  result.image.code_bits = 64;
  result.image.segments = load_elf_segments(memory, elf, file, options.kernel_path);
  result.image.file = std::move(file);

  CpuState& cpu = result.cpu;
  write_boot_gdt(memory, cpu);
  cpu.cs = code64();
  cpu.ds = cpu.es = cpu.fs = cpu.gs = cpu.ss = flat_data32();
  enter_long_mode(memory, cpu);
  cpu.rip = elf.entry;
  cpu.gpr[kRsp] = kStackTop;
  cpu.gpr[kRax] = 0x2badb002;
  cpu.gpr[kRdi] = write_multiboot_info(memory, multiboot_cmdline(options));
  return result;
}

} // namespace rrvm
