; ELF64 guest for the adaptive clock's pacing test: takes 100 PIT interrupts at 100 Hz (11932
; counts of 1193182 Hz) and halts between them, so a live run idles for one second of guest time,
; which should take about one second of host time. Prints one line and exits with GUEST_PASS.
%include "guest.inc"
%include "pic.inc"
%include "long.inc"

section .text
global _start
_start:
  irq0_handler_install timer_handler
  pit_periodic 11932
  sti
.wait:
  hlt
  cmp dword [rel ticks], 100
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
message: db "idle: 100 PIT ticks at 100 Hz", 10, 0
