; Real-mode flat guest (load with --flat 0x7c00) that keeps its vCPU busy for 0.3 s of guest
; time: it spins with interrupts on, never halting, until 300 PIT interrupts at 1 kHz have come.
; The CPU-ready test runs it beside a competing process.
%include "guest.inc"
%include "pic.inc"
bits 16
org 0x7c00
  cli
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7c00
  mov word [8 * 4], timer_handler     ; IVT entry for vector 8 (IRQ0)
  mov word [8 * 4 + 2], 0
  pic_init 0x08, 0x70, 0xfe, 0xff
  pit_periodic 1193
  sti
.spin:
  cmp word [ticks], 300
  jb .spin
  guest_exit GUEST_PASS

timer_handler:
  push ax
  inc word [ticks]
  mov al, 0x20                        ; non-specific EOI
  out 0x20, al
  pop ax
  iret

ticks: dw 0
