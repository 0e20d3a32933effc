; Real-mode flat guest (--flat 0x7c00) whose IVT lies outside RAM: LIDT moves it to unmapped
; MMIO, then UD2 raises #UD. The vector is read from the bus, which gives all ones, so the CPU
; enters the handler at ffff:ffff (linear 0x10ffef), where the guest left a HLT: with IF cleared
; by the delivery, rrvm reports a powered-off guest (status 80) instead of ending the process.
bits 16
org 0x7c00
  mov ax, 0xffff
  mov es, ax
  mov byte [es:0xffff], 0xf4    ; HLT at ffff:ffff
  o32 lidt [idtr]
  ud2
idtr:
  dw 0x3ff
  dd 0xf0000000
