; A REP MOVSB that the test stops in the middle (instruction limit) to inject interrupt 0x20; the
; handler counts, IRET resumes the copy, and the guest checks the copy and the count: exit 0 when
; both are right, 1 when the copy is wrong, 2 when the handler did not run exactly once.
%include "emu.inc"

%define COUNT 0x6000
%define IDT 0x9000
%define SRC 0x100000
%define DST 0x200000
%define LEN 0x10000

boot_real
boot_protected 0x90000
  mov eax, tick
  mov word [IDT + 0x20 * 8], ax
  mov word [IDT + 0x20 * 8 + 2], 0x08
  mov word [IDT + 0x20 * 8 + 4], 0x8e00
  shr eax, 16
  mov word [IDT + 0x20 * 8 + 6], ax
  lidt [idt_desc]
  mov dword [COUNT], 0
  mov edi, SRC
  mov ecx, LEN
  xor eax, eax
fill:
  mov [edi], al
  add al, 7
  inc edi
  dec ecx
  jnz fill
  sti
  jmp copy

tick:
  inc dword [COUNT]
  iret

idt_desc:
  dw 0x20 * 8 + 7
  dd IDT

times 0x200 - ($ - $$) db 0
; At 0x7e00: the test puts a breakpoint here.
copy:
  mov esi, SRC
  mov edi, DST
  mov ecx, LEN
  cld
  rep movsb
  cli
  mov esi, SRC
  mov edi, DST
  mov ecx, LEN
  repe cmpsb
  jne bad_copy
  cmp dword [COUNT], 1
  jne bad_count
  guest_exit 0
bad_copy:
  guest_exit 1
bad_count:
  guest_exit 2

flat_gdt
