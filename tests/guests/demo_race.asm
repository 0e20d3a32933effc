; The demo guest: a lost update that happens now and then. The main loop and the timer interrupt
; handler both add to `total`. Usually the main loop adds with one instruction, which an
; interrupt cannot split; but one iteration in 64 reads `total`, does an I/O write (a VM exit,
; where rrvm delivers a pending timer interrupt) and only then writes `total` back: an interrupt
; taken there is lost. Whether a tick lands in that window depends on host timing, so the guest
; fails in roughly a quarter of its runs. At 20 ticks it checks total = iterations + ticks and
; exits with GUEST_PASS, or prints the difference and exits with GUEST_FAIL_BASE + 1.
%include "guest.inc"
%include "pic.inc"
%include "long.inc"

section .text
global _start
_start:
  irq0_handler_install timer_handler
  pit_periodic 1193
  sti
main_loop:
  inc qword [rel iterations]
  test qword [rel iterations], 63
  jz .racy
  out 0x80, al
  inc qword [rel total]           ; one instruction: an interrupt comes before or after it
  jmp .next
.racy:
  mov rbx, [rel total]            ; read ...
  out 0x80, al                    ; ... exit to the VMM, which may deliver the timer here ...
  inc rbx
  mov [rel total], rbx            ; ... and write back, losing the handler's update
.next:
  cmp dword [rel ticks], 20
  jb main_loop
  cli
  mov rax, [rel iterations]
  mov ecx, [rel ticks]
  add rax, rcx
  cmp rax, [rel total]
  jne lost
  lea rsi, [rel ok_message]
  call puts
  guest_exit GUEST_PASS
lost:
  sub rax, [rel total]
  mov [rel lost_count], rax
  lea rsi, [rel lost_message]
  call puts
  mov rax, [rel lost_count]
  add al, '0'
  serial_putc_al
  mov al, 10
  serial_putc_al
  guest_exit GUEST_FAIL_BASE + 1

timer_handler:
  push rax
  inc qword [rel total]
  inc dword [rel ticks]
  mov al, 0x20
  out 0x20, al
  pop rax
  iretq

section .data
ticks: dd 0
iterations: dq 0
total: dq 0
lost_count: dq 0
section .rodata
ok_message: db "demo: every timer tick counted", 10, 0
lost_message: db "demo: BUG: timer ticks lost: ", 0
