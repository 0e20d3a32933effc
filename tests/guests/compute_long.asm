; ELF64 guest for the compute-bound recording benchmark: with interrupts off and the PIT never
; programmed, it runs a xorshift loop with no exits at all, for as many iterations as the decimal
; number after the first space of its command line (--append N; 1000 without one), then exits
; with GUEST_PASS. Only the final exit and the loader's exits remain to be recorded.
%include "guest.inc"
%include "long.inc"

section .text
global _start
_start:
  mov ecx, 1000
  test dword [rdi], 1 << 2        ; multiboot flags: is there a command line?
  jz .compute
  mov esi, [rdi + 16]
.skip_path:                       ; the command line starts with the kernel path
  lodsb
  test al, al
  jz .compute
  cmp al, ' '
  jne .skip_path
  xor ecx, ecx
.digit:
  movzx eax, byte [rsi]
  sub eax, '0'
  cmp eax, 9
  ja .compute
  imul rcx, rcx, 10
  add rcx, rax
  inc rsi
  jmp .digit
.compute:
  mov rax, 0x123456789abcdef
  test rcx, rcx
  jz .done
.loop:                            ; the state depends on every iteration
  mov rdx, rax
  shl rdx, 13
  xor rax, rdx
  mov rdx, rax
  shr rdx, 7
  xor rax, rdx
  mov rdx, rax
  shl rdx, 17
  xor rax, rdx
  dec rcx
  jnz .loop
.done:
  mov [rel result], rax
  guest_exit GUEST_PASS

section .data
result: dq 0
