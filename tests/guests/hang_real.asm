; Real-mode flat guest that halts with interrupts enabled but nothing to wake it: both PICs mask
; every line and no timer is programmed, so rrvm must end the run saying that nothing can wake it.
bits 16
org 0x7c00
  mov al, 0xff
  out 0x21, al
  out 0xa1, al
  sti
  hlt
