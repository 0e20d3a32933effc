; ELF64 guest: checks the HPET's capabilities, that its main counter runs, then uses comparator 0
; in legacy-replacement mode (IRQ0): one one-shot interrupt, then 10 periodic ones at 1 kHz.
; Failure n exits with GUEST_FAIL_BASE + n.
%include "guest.inc"
%include "pic.inc"
%include "long.inc"

%define HPET 0xfed00000
%define HPET_CAP 0x000
%define HPET_CONFIG 0x010
%define HPET_COUNTER 0x0f0
%define HPET_T0_CONFIG 0x100
%define HPET_T0_COMPARATOR 0x108

section .text
global _start
_start:
  irq0_handler_install timer_handler
  mov rbx, HPET
  mov rax, [rbx + HPET_CAP]
  mov rcx, rax
  shr rcx, 16
  cmp cx, 0x8086                  ; vendor
  jne fail_1
  bt rax, 15                      ; LEG_RT_CAP
  jnc fail_2
  shr rax, 32                     ; counter period in femtoseconds
  jz fail_3
  mov r12, rax
  ; ticks per millisecond = 10^12 fs / period
  mov rax, 1000000000000
  xor edx, edx
  div r12
  mov r13, rax
  mov qword [rbx + HPET_CONFIG], 3     ; ENABLE_CNF | LEG_RT_CNF
  mov rax, [rbx + HPET_COUNTER]
  mov rcx, 100000
.spin:
  loop .spin
  mov rdx, [rbx + HPET_COUNTER]
  cmp rdx, rax
  jbe fail_4
  ; one-shot: comparator = now + 1 ms, interrupts enabled, edge-triggered
  mov qword [rbx + HPET_T0_CONFIG], 1 << 2
  mov rax, [rbx + HPET_COUNTER]
  add rax, r13
  mov [rbx + HPET_T0_COMPARATOR], rax
  sti
.one_shot:
  hlt
  cmp dword [rel ticks], 1
  jb .one_shot
  ; periodic: ENB | TYPE periodic | VAL_SET, period 1 ms
  cli
  mov qword [rbx + HPET_T0_CONFIG], (1 << 2) | (1 << 3) | (1 << 6)
  mov rax, [rbx + HPET_COUNTER]
  add rax, r13
  mov [rbx + HPET_T0_COMPARATOR], rax
  mov [rbx + HPET_T0_COMPARATOR], r13
  sti
.periodic:
  hlt
  cmp dword [rel ticks], 11
  jb .periodic
  cli
  lea rsi, [rel message]
  call puts
  guest_exit GUEST_PASS

fail_1: guest_exit GUEST_FAIL_BASE + 1
fail_2: guest_exit GUEST_FAIL_BASE + 2
fail_3: guest_exit GUEST_FAIL_BASE + 3
fail_4: guest_exit GUEST_FAIL_BASE + 4

timer_handler:
  push rax
  inc dword [rel ticks]
  mov al, 0x20
  out 0x20, al
  pop rax
  iretq

section .data
ticks: dd 0
section .rodata
message: db "HPET: counter runs, 1 one-shot and 10 periodic interrupts", 10, 0
