; ELF64 guest for the idle-replay benchmark: takes 500 PIT interrupts at 1 kHz and halts
; between them, so it idles for nearly all of its half second; replay skips the idle time.
; Prints the count and exits with GUEST_PASS.
%include "guest.inc"
%include "pic.inc"
%include "long.inc"

section .text
global _start
_start:
  irq0_handler_install timer_handler
  pit_periodic 1193
  sti
.wait:
  hlt
  cmp dword [rel ticks], 500
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

section .data
ticks: dd 0
section .rodata
message: db "idle: 500 PIT ticks, halting between them", 10, 0
