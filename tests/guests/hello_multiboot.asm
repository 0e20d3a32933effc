; Multiboot v1 ELF32 kernel: prints a greeting and the command line on COM1, then exits with
; GUEST_PASS. The same file boots under `qemu-system-i386 -kernel`.
%include "guest.inc"
bits 32

section .multiboot
align 4
  dd 0x1badb002
  dd 0x00000003                 ; align modules, want memory info
  dd -(0x1badb002 + 0x00000003)

section .text
global _start
_start:
  mov esp, stack_top             ; multiboot leaves ESP undefined
  cmp eax, 0x2badb002
  jne bad_magic
  mov esi, greeting
  call puts
  test dword [ebx], 1 << 2      ; command line present?
  jz .done
  mov esi, [ebx + 16]
  call puts
  mov esi, newline
  call puts
.done:
  guest_exit GUEST_PASS
bad_magic:
  guest_exit GUEST_FAIL_BASE

; Print the NUL-terminated string at ESI.
puts:
  lodsb
  test al, al
  jz .end
  serial_putc_al
  jmp puts
.end:
  ret

section .rodata
greeting: db "Hello from an rrvm multiboot guest", 10, "cmdline: ", 0
newline: db 10, 0

section .bss
alignb 16
resb 4096
stack_top:
