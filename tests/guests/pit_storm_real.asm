; Real-mode flat guest (--flat 0x7c00) under an interrupt storm: the PIT at divisor 1 (a tick
; every 838 ns, faster than an interpreter runs the handler), HLT between ticks. The loop after
; HLT must still make progress: it counts 20,000 ticks, prints the count and exits with
; GUEST_PASS.
%include "guest.inc"
%include "pic.inc"
TICKS equ 20000
bits 16
org 0x7c00
  cli
  xor ax, ax
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov sp, 0x7c00
  mov word [8 * 4], timer_handler     ; IVT entry for vector 8 (IRQ0)
  mov word [8 * 4 + 2], 0
  pic_init 0x08, 0x70, 0xfe, 0xff
  pit_periodic 1
  sti
.wait:
  hlt
  cmp word [ticks], TICKS
  jb .wait
  cli
  mov si, message
.print:
  lodsb
  test al, al
  jz .done
  serial_putc_al
  jmp .print
.done:
  guest_exit GUEST_PASS

timer_handler:
  push ax
  inc word [ticks]
  mov al, 0x20                        ; non-specific EOI
  out 0x20, al
  pop ax
  iret

ticks: dw 0
message: db "PIT storm: 20000 ticks", 10, 0
