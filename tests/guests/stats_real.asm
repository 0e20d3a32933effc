; Real-mode flat guest (load with --flat 0x7c00) whose exits the statistics tests count exactly:
; 10 rounds of 100 `out 0x80` (a port with no device) then one HLT, woken by a PIT interrupt.
; Interrupts are enabled only for `sti; hlt` (the STI shadow makes the pair atomic), and the
; handler returns with IF clear, so each HLT takes exactly one interrupt even when the next tick is
; already due at the IRET (a loaded host); the handler's EOI is the only other `out` per round.
; in/out exits: 10 (pic_init) + 3 (pit_periodic) + 1000 + 10 (EOIs) + 1 (guest_exit) = 1024.
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
  mov bx, 10
.round:
  mov cx, 100
.out:
  out 0x80, al
  loop .out
  sti
  hlt
  cli
  dec bx
  jnz .round
  guest_exit GUEST_PASS

timer_handler:
  push ax
  push bp
  mov bp, sp
  and word [bp + 8], ~0x200           ; the interrupted FLAGS: return with IF clear
  mov al, 0x20                        ; non-specific EOI
  out 0x20, al
  pop bp
  pop ax
  iret
