; Real-mode flat guest (--flat 0x7c00) that enters 32-bit protected mode with its IDT in unmapped
; MMIO and executes INT 0x80. Every gate reads as all ones from the bus: a 32-bit trap gate to
; selector 0xffff, beyond the GDT, so #GP follows, then #DF, then shutdown, which the PC turns
; into a reset (rrvm status 82).
bits 16
org 0x7c00
  cli
  lgdt [gdt_descriptor]
  o32 lidt [idt_descriptor]          ; all 32 bits of the base
  mov eax, cr0
  or eax, 1
  mov cr0, eax
  jmp 0x08:protected
bits 32
protected:
  int 0x80
  hlt
align 8
gdt:
  dq 0
  dq 0x00cf9b000000ffff            ; flat 32-bit code
gdt_descriptor:
  dw 15
  dd gdt
idt_descriptor:
  dw 0x7ff
  dd 0xf0000000
