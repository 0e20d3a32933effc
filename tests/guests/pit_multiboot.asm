; Multiboot ELF32 guest with a 32-bit IDT: takes 20 PIT interrupts (IRET from each) and exits with
; GUEST_PASS. Needs a 32-bit IRET, which KVM's PVM module cannot run (emu and real KVM can).
%include "guest.inc"
%include "pic.inc"
bits 32

section .multiboot
align 4
  dd 0x1badb002
  dd 0
  dd -0x1badb002

section .text
global _start
_start:
  mov esp, stack_top
  mov eax, timer_handler
  mov edi, idt + 0x20 * 8
  mov [edi], ax
  mov word [edi + 2], 0x08      ; rrvm's boot GDT: 32-bit code
  mov word [edi + 4], 0x8e00    ; present 32-bit interrupt gate
  shr eax, 16
  mov [edi + 6], ax
  lidt [idt_descriptor]
  pic_init 0x20, 0x28, 0xfe, 0xff
  pit_periodic 1193
  sti
.wait:
  hlt
  cmp dword [ticks], 20
  jb .wait
  cli
  mov esi, message
.print:
  lodsb
  test al, al
  jz .done
  serial_putc_al
  jmp .print
.done:
  guest_exit GUEST_PASS

timer_handler:
  push eax
  inc dword [ticks]
  mov al, 0x20
  out 0x20, al
  pop eax
  iret

section .data
ticks: dd 0
idt_descriptor:
  dw 256 * 8 - 1
  dd idt
section .rodata
message: db "PIT in 32-bit protected mode: 20 ticks", 10, 0
section .bss
alignb 8
idt: resb 256 * 8
resb 4096
stack_top:
