; Real-mode flat guest (load with --flat 0x7c00): takes 50 PIT interrupts at 1 kHz on IRQ0,
; halting between them, then prints the count and exits with GUEST_PASS.
%include "guest.inc"
%include "pic.inc"
PIT_DIVISOR equ 1193
TICKS equ 50
%define MESSAGE "PIT: 50 ticks"
%include "pit_ticks_real.inc"
