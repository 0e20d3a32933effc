; Entry of the C vector guest: rrvm starts ELF64 kernels in long mode at CPL 0 with a stack.
; SSE needs CR4.OSFXSR (and OSXMMEXCPT for #XM) and CR0.EM clear, CR0.MP set; then the C code
; runs and the guest exits with GUEST_PASS.
%include "guest.inc"

bits 64
section .text
global _start
extern guest_main
_start:
  mov rax, cr0
  and eax, ~(1 << 2)              ; EM
  or eax, 1 << 1                  ; MP
  mov cr0, rax
  mov rax, cr4
  or eax, (1 << 9) | (1 << 10)    ; OSFXSR, OSXMMEXCPT
  mov cr4, rax
  and rsp, -16
  call guest_main
  guest_exit GUEST_PASS
