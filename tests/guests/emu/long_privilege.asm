; Long-mode interrupt delivery across privilege levels: from ring 3, INT 0x80 goes through a DPL-3
; interrupt gate to ring 0 on the TSS's RSP0 stack, and INT 0x81 through a gate with IST 1 (the
; IST pointer is deliberately misaligned: the CPU aligns the new RSP down to 16 bytes). Each
; handler checks the frame (RIP, CS, RSP, SS of ring 3), its own CS, the null SS the privilege
; change loads and its stack pointer, then IRETQs back to ring 3, which checks it got its CS, SS,
; RSP and registers back. Prints one letter per passed check ("LRKUIV") and exits 0, or 1 at the
; first failure.
%include "emu.inc"

%define IDT 0x9000
%define TSS 0xb000
%define PML4 0x100000
%define KSTACK 0x90000
%define IST_TOP 0xa0000
%define USTACK 0x80000
%define MARK 0x1234567887654321

; 64-bit IDT entry %1 -> handler %2 through IST %3, with type/DPL byte %4.
%macro gate64 4
  mov eax, %2
  mov word [IDT + %1 * 16], ax
  mov word [IDT + %1 * 16 + 2], 0x18
  mov byte [IDT + %1 * 16 + 4], %3
  mov byte [IDT + %1 * 16 + 5], %4
  shr eax, 16
  mov word [IDT + %1 * 16 + 6], ax
  mov dword [IDT + %1 * 16 + 8], 0
%endmacro

; Checks the ring-0 side of an interrupt from ring 3 whose frame starts at %1 and returns to %2.
%macro expect_kernel_frame 2
  cmp rsp, %1
  jne fail
  cmp qword [rsp], %2
  jne fail
  cmp qword [rsp + 8], 0x2b
  jne fail
  cmp qword [rsp + 24], USTACK
  jne fail
  cmp qword [rsp + 32], 0x23
  jne fail
  mov ax, cs
  cmp ax, 0x18
  jne fail
  mov ax, ss
  test ax, ax
  jnz fail
%endmacro

; Checks that ring 3 got its state back.
%macro expect_user_state 0
  mov ax, cs
  cmp ax, 0x2b
  jne fail
  mov ax, ss
  cmp ax, 0x23
  jne fail
  cmp rsp, USTACK
  jne fail
  mov rax, MARK
  cmp r12, rax
  jne fail
%endmacro

boot_real
boot_protected KSTACK
  cld
  ; Identity-map the first GiB with user-accessible 2 MiB pages.
  mov edi, PML4
  mov ecx, 0x3000 / 4
  xor eax, eax
  rep stosd
  mov dword [PML4], PML4 + 0x1007
  mov dword [PML4 + 0x1000], PML4 + 0x2007
  mov edi, PML4 + 0x2000
  mov eax, 0x87
  mov ecx, 512
map:
  mov [edi], eax
  add eax, 0x200000
  add edi, 8
  loop map
  mov eax, cr4
  or eax, 0x20
  mov cr4, eax
  long_mode_on PML4
  jmp 0x18:lm64

bits 64
lm64:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  putc 'L'
  ; The TSS: RSP0 and IST1 (misaligned by 8), then its descriptor at selector 0x30.
  mov edi, TSS
  mov ecx, 0x68 / 4
  xor eax, eax
  rep stosd
  mov qword [TSS + 4], KSTACK
  mov qword [TSS + 0x24], IST_TOP + 8
  mov dword [tss_desc], ((TSS & 0xffff) << 16) | 0x67
  mov dword [tss_desc + 4], ((TSS >> 16) & 0xff) | 0x8900 | (TSS & 0xff000000)
  mov ax, 0x30
  ltr ax
  mov edi, IDT
  mov ecx, 256 * 4
  xor eax, eax
  rep stosd
  gate64 6, fail, 0, 0x8e
  gate64 13, fail, 0, 0x8e
  gate64 14, fail, 0, 0x8e
  gate64 0x80, int80, 0, 0xee
  gate64 0x81, int81, 1, 0xee
  lidt [idt_desc]
  ; IRETQ to ring 3 with IOPL 3, so ring 3 may print and exit.
  push 0x23
  push USTACK
  push 0x3002
  push 0x2b
  push user
  iretq

user:
  putc 'R'
  mov r12, MARK
  int 0x80
after80:
  expect_user_state
  putc 'U'
  int 0x81
after81:
  expect_user_state
  putc 'V'
  putc 10
  guest_exit 0

int80:
  expect_kernel_frame KSTACK - 40, after80
  putc 'K'
  iretq

int81:
  expect_kernel_frame IST_TOP - 40, after81
  putc 'I'
  iretq

fail:
  putc '!'
  guest_exit 1

idt_desc:
  dw 256 * 16 - 1
  dq IDT

flat_gdt
