; Real-mode flat guest that resets the PC as Linux's `reboot` does without ACPI: it waits until
; the keyboard controller's input buffer is empty, then sends it 0xfe, which pulses the reset
; line. Should the reset not happen, the guest fails (status 33).
%include "guest.inc"
bits 16
org 0x7c00
  cli
wait_input_empty:
  in al, 0x64
  test al, 0x02
  jnz wait_input_empty
  mov al, 0xfe
  out 0x64, al
  guest_exit GUEST_FAIL_BASE
