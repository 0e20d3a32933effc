; Real-mode flat guest that prints the CPU's vendor (CPUID leaf 0: EBX, EDX, ECX) on COM1 and
; passes: what a replay shows of it is the CPU the replay presents.
%include "guest.inc"
bits 16
org 0x7c00
  xor ax, ax
  mov ds, ax
  xor eax, eax
  cpuid
  mov [vendor], ebx
  mov [vendor + 4], edx
  mov [vendor + 8], ecx
  mov si, vendor
  mov cx, 12
.next:
  lodsb
  serial_putc_al
  loop .next
  mov al, 0x0a
  serial_putc_al
  guest_exit GUEST_PASS
vendor:
  times 12 db 0
