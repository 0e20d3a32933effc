; ELF64 guest: installs an IDT, remaps the PICs to 0x20/0x28 and takes 20 PIT interrupts at
; 1 kHz (IRETQ from each), halting between them; prints the count and exits with GUEST_PASS.
%include "guest.inc"
%include "pic.inc"
%include "long.inc"

section .text
global _start
_start:
  irq0_handler_install timer_handler
  mov rdi, 0x27
  lea rsi, [rel spurious_handler]
  call set_gate
  pit_periodic 1193
  sti
.wait:
  hlt
  cmp dword [rel ticks], 20
  jb .wait
  cli
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

spurious_handler:
  iretq

section .data
ticks: dd 0
section .rodata
message: db "PIT in long mode: 20 ticks", 10, 0
