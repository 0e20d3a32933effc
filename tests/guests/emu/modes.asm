; Walks real mode -> 32-bit protected mode -> 32-bit paging (4M and 4K pages) -> PAE paging ->
; long mode -> compatibility mode -> long mode, printing one letter per stage ("RPGALCB"), then
; exits with 0 (1 on a failed check).
%include "emu.inc"
%define MAGIC 0xcafef00d

; Turns paging on with the CR4 bits %1 and the tables at %2, and checks that linear 0x400000 maps
; to the page holding MAGIC.
%macro paging_on 2
  mov eax, cr4
  or eax, %1
  mov cr4, eax
  mov eax, %2
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  cmp dword [0x400000], MAGIC
  jne fail
%endmacro

boot_real
  putc 'R'
boot_protected 0x90000
  putc 'P'
  ; Tables live at 0x100000..0x106000; zero them.
  mov edi, 0x100000
  mov ecx, 0x6000 / 4
  xor eax, eax
  cld
  rep stosd
  mov dword [0x200000], MAGIC
  ; 32-bit paging: PDE0 maps 4M at 0 (PSE); PDE1 -> page table mapping 0x400000 -> 0x200000.
  mov dword [0x100000], 0x83
  mov dword [0x100004], 0x101003
  mov dword [0x101000], 0x200003
  paging_on 0x10, 0x100000
  putc 'G'
  mov eax, cr0
  and eax, 0x7fffffff
  mov cr0, eax
  ; PAE: PDPT at 0x102000, PD at 0x103000 with 2M pages: 0 -> 0, 0x400000 -> 0x200000.
  mov dword [0x102000], 0x103001
  mov dword [0x103000], 0x83
  mov dword [0x103010], 0x200083
  paging_on 0x20, 0x102000
  putc 'A'
  mov eax, cr0
  and eax, 0x7fffffff
  mov cr0, eax
  ; Long mode: PML4 0x104000 -> PDPT 0x105000 -> the PAE page directory.
  mov dword [0x104000], 0x105003
  mov dword [0x105000], 0x103003
  long_mode_on 0x104000
  jmp 0x18:lm64

fail:
  putc '!'
  guest_exit 1

bits 64
lm64:
  mov ax, 0x10
  mov ds, ax
  mov ss, ax
  cmp dword [0x400000], MAGIC
  jne fail64
  mov ecx, 0xc0000080
  rdmsr
  test eax, 0x400
  jz fail64
  putc 'L'
  jmp far dword [rel compat_ptr]
fail64:
  putc '!'
  guest_exit 1

bits 32
compat:
  putc 'C'
  mov eax, 0x12345678
  push eax
  pop ebx
  cmp ebx, eax
  jne fail
  jmp 0x18:lm64b

bits 64
lm64b:
  mov rax, 0x123456789
  shr rax, 32
  cmp eax, 1
  jne fail64
  putc 'B'
  putc 10
  guest_exit 0

compat_ptr:
  dd compat
  dw 0x08

flat_gdt
