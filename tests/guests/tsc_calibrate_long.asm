; ELF64 guest that calibrates the TSC against the PIT, as an OS does: with the PIT at 1193 counts
; per tick (1193182 Hz input), it reads the TSC at the 1st and the 11th tick (10 ticks: 9.998 ms),
; once halting between ticks and once spinning, and prints both TSC deltas in hex:
;   idle 0x...\n
;   busy 0x...\n
; With --clock icount (1 GHz TSC) both are about 9 998 474.
%include "guest.inc"
%include "pic.inc"
%include "long.inc"

%define FIRST_TICK 1
%define LAST_TICK 11

section .text
global _start
_start:
  irq0_handler_install timer_handler
  mov rdi, 0x27
  lea rsi, [rel spurious_handler]
  call set_gate
  pit_periodic 1193
  sti
.idle:
  hlt
  cmp dword [rel ticks], LAST_TICK
  jb .idle
  lea rsi, [rel idle_label]
  call print_delta

  mov dword [rel ticks], 0
.busy:
  cmp dword [rel ticks], LAST_TICK
  jb .busy
  cli
  lea rsi, [rel busy_label]
  call print_delta
  guest_exit GUEST_PASS

; The TSC is read at the start of the handler, so both reads see the same latency.
timer_handler:
  push rax
  push rdx
  rdtsc
  shl rdx, 32
  or rax, rdx
  inc dword [rel ticks]
  cmp dword [rel ticks], FIRST_TICK
  jne .not_first
  mov [rel tsc_first], rax
.not_first:
  cmp dword [rel ticks], LAST_TICK
  jne .done
  mov [rel tsc_last], rax
.done:
  mov al, 0x20
  out 0x20, al
  pop rdx
  pop rax
  iretq

spurious_handler:
  iretq

; print_delta: print the label at RSI, then "0x" and tsc_last - tsc_first in 16 hex digits.
print_delta:
  call puts
  mov rbx, [rel tsc_last]
  sub rbx, [rel tsc_first]
  mov ecx, 16
.digit:
  rol rbx, 4
  mov eax, ebx
  and eax, 0xf
  add al, '0'
  cmp al, '9'
  jbe .print
  add al, 'a' - '0' - 10
.print:
  serial_putc_al
  dec ecx
  jnz .digit
  mov al, 10
  serial_putc_al
  ret

section .data
ticks: dd 0
tsc_first: dq 0
tsc_last: dq 0
section .rodata
idle_label: db "idle 0x", 0
busy_label: db "busy 0x", 0
