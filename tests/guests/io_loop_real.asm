; Real-mode flat guest for the exit-cost benchmark: writes to port 0x80 (no device) ECX times,
; given in the first dword of the image's trailer at `iterations`, then exits with GUEST_PASS.
%include "guest.inc"
bits 16
org 0x7c00
  mov ecx, [iterations]
.loop:
  out 0x80, al
  dec ecx
  jnz .loop
  guest_exit GUEST_PASS
align 4
iterations: dd 100000
