; ELF64 guest for the stop-signal tests: takes PIT interrupts at 1 kHz forever, halting between
; them, and prints a dot every 20 ticks, so a run stopped at any moment has serial output to
; compare with its replay. It never exits by itself.
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
  mov dword [rel ticks], 0
  mov al, '.'
  serial_putc_al
  jmp .wait

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
