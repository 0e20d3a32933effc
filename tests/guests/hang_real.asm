; Real-mode flat guest that halts with interrupts disabled: rrvm must end the run saying that
; nothing can wake it.
bits 16
org 0x7c00
  cli
  hlt
