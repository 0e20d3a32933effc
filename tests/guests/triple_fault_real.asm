; Real-mode flat guest that triple-faults: it enters 32-bit protected mode with an empty IDT and
; executes INT3, whose #GP cannot be delivered either, then #DF, then shutdown.
bits 16
org 0x7c00
  cli
  lgdt [gdt_descriptor]
  lidt [empty_idt]
  mov eax, cr0
  or eax, 1
  mov cr0, eax
  jmp 0x08:protected
bits 32
protected:
  int3
  hlt
align 8
gdt:
  dq 0
  dq 0x00cf9b000000ffff            ; flat 32-bit code
gdt_descriptor:
  dw 15
  dd gdt
empty_idt:
  dw 0
  dd 0
