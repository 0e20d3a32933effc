; ELF64 guest that computes without exits while the PIT ticks at 1 kHz: on kvm every tick is
; delivered at a host-timer kick in the middle of the loop, which replay must find again. After
; 10 ticks it prints the loop's result and exits with GUEST_PASS.
%include "guest.inc"
%include "pic.inc"
%include "long.inc"

section .text
global _start
_start:
  irq0_handler_install timer_handler
  pit_periodic 1193
  mov rax, 0x123456789abcdef
  sti
.compute:                         ; xorshift: the state depends on every iteration
  mov rdx, rax
  shl rdx, 13
  xor rax, rdx
  mov rdx, rax
  shr rdx, 7
  xor rax, rdx
  mov rdx, rax
  shl rdx, 17
  xor rax, rdx
  inc qword [rel iterations]
  cmp dword [rel ticks], 10
  jb .compute
  cli
  mov [rel result], rax
  lea rsi, [rel message]
  call puts
  guest_exit GUEST_PASS

timer_handler:
  push rax
  inc dword [rel ticks]
  mov al, 0x20
  out 0x20, al
  pop rax
  iretq

section .data
ticks: dd 0
iterations: dq 0
result: dq 0
section .rodata
message: db "busy loop: 10 ticks taken mid-computation", 10, 0
