; Real-mode flat guest (--flat 0x7c00) under an interrupt storm: the PIT at divisor 1 (a tick
; every 838 ns, faster than an interpreter runs the handler), HLT between ticks. The loop after
; HLT must still make progress: it counts 20,000 ticks, prints the count and exits with
; GUEST_PASS.
%include "guest.inc"
%include "pic.inc"
PIT_DIVISOR equ 1
TICKS equ 20000
%define MESSAGE "PIT storm: 20000 ticks"
%include "pit_ticks_real.inc"
