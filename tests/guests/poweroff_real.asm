; Real-mode flat guest that powers off as a PC without ACPI does (and as Linux's `poweroff -f`
; ends): interrupts disabled, then HLT, which nothing but an NMI could end.
bits 16
org 0x7c00
  cli
  hlt
