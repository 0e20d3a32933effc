; ELF64 guest for the debugger's x87/SSE registers: enables SSE, loads known values into XMM0,
; XMM15 and MXCSR, and stops at `loaded` for gdb to read them; then exits with GUEST_PASS.
%include "guest.inc"

bits 64
section .text
global _start
_start:
  mov rax, cr4
  or eax, (1 << 9) | (1 << 10)    ; OSFXSR, OSXMMEXCPT
  mov cr4, rax
  mov rax, 0x0123456789abcdef
  movq xmm0, rax
  mov rax, 0x3ff0000000000000     ; 1.0
  pinsrq xmm0, rax, 1
  movdqa xmm15, xmm0
  paddq xmm15, xmm15
  ldmxcsr [rel control]
global loaded
loaded:
  nop
  guest_exit GUEST_PASS

section .data
control: dd 0x3fa0                ; round down, all masked, PE set
