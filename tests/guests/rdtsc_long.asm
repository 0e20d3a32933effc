; ELF64 guest whose exits depend on RDTSC: 16 times it reads the TSC and writes to port 0x80 only
; when bit 6 is set. On emu the TSC is the instruction count, so every run is the same; on
; kvm RDTSC cannot be trapped, so a replay takes other exits and must report a divergence.
%include "guest.inc"
%include "long.inc"

section .text
global _start
_start:
  mov ecx, 16
.sample:
  rdtsc
  test al, 0x40                   ; a bit that moves between samples on real time
  jz .skip
  out 0x80, al
.skip:
  mov eax, 0x3ff                  ; spin so host timing jitter reaches the sampled bit
.spin:
  dec eax
  jnz .spin
  dec ecx
  jnz .sample
  guest_exit GUEST_PASS
