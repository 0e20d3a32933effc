; Real-mode flat guest (--flat 0x7c00) that enters 32-bit protected mode with a task gate in
; IDT vector 6 and executes UD2. Hardware task switching is not implemented by emu: the run
; stops as unsupported (rrvm status 70, one line naming the task gate).
bits 16
org 0x7c00
  cli
  lgdt [gdt_descriptor]
  lidt [idt_descriptor]
  mov eax, cr0
  or eax, 1
  mov cr0, eax
  jmp 0x08:protected
bits 32
protected:
  ud2
  hlt
align 8
gdt:
  dq 0
  dq 0x00cf9b000000ffff            ; flat 32-bit code
  dq 0x0000890070000067            ; 0x10: a 32-bit TSS at 0x7000
gdt_descriptor:
  dw 23
  dd gdt
idt:
  times 6 dq 0
  dq 0x0000850000100000            ; vector 6: present task gate, TSS selector 0x10
idt_descriptor:
  dw 7 * 8 - 1
  dd idt
