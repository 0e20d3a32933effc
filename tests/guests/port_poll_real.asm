; Real-mode flat guest for the record/replay benchmark: reads COM1's line status ECX times, as a
; driver polling its device does, given in the first dword of the image's trailer at
; `iterations`, then exits with GUEST_PASS. Every exit is a port read, which a recording folds
; into its digest beside the exit (io_loop_real's exits are writes, which only the exit reports).
%include "guest.inc"
bits 16
org 0x7c00
  mov ecx, [iterations]
  mov dx, COM1 + 5
.loop:
  in al, dx
  dec ecx
  jnz .loop
  guest_exit GUEST_PASS
align 4
iterations: dd 100000
