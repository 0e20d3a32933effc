; ELF64 guest for exact reverse execution over emu's software TLB: it clears the accessed and
; dirty bits of PTEs without INVLPG, as Linux's page aging does, and goes on using the pages
; through the translations still cached, so no page walk sets the bits again. Its own page tables
; map linear DATA_PAGE.. (2 MiB) with identity 4 KiB pages and the rest of the first GiB with
; identity 2 MiB pages. It exits with GUEST_PASS when both PTEs end with A and D clear, as a CPU
; that keeps its TLB entries leaves them; GUEST_FAIL_BASE + 1 or + 2 names the PTE a walk touched.
; Interrupts stay off: every position is an instruction count.
%include "guest.inc"
%include "long.inc"

%define DATA_PAGE 0x600000
%define CODE_PAGE 0x601000
%define AD_BITS 0x60
%define PRESENT_WRITABLE 3
%define LARGE_PAGE 0x80

section .text
global _start
_start:
  lea rdi, [rel pd]
  mov eax, PRESENT_WRITABLE | LARGE_PAGE
  mov ecx, 512
.large:
  mov [rdi], rax
  add rax, 0x200000
  add rdi, 8
  loop .large
  lea rdi, [rel pt]
  mov eax, DATA_PAGE | PRESENT_WRITABLE
  mov ecx, 512
.small:
  mov [rdi], rax
  add rax, 0x1000
  add rdi, 8
  loop .small
  lea rax, [rel pt]
  or rax, PRESENT_WRITABLE
  mov [rel pd + 8 * (DATA_PAGE >> 21)], rax
  lea rax, [rel pd]
  or rax, PRESENT_WRITABLE
  mov [rel pdpt], rax
  lea rax, [rel pdpt]
  or rax, PRESENT_WRITABLE
  mov [rel pml4], rax
  lea rax, [rel pml4]
  mov cr3, rax

global aging
aging:
  mov rax, [DATA_PAGE]          ; a walk sets A; D is clear, so the entry grants no writes yet
  and qword [rel pt], ~AD_BITS  ; aged: no INVLPG
  mov rax, [DATA_PAGE + 8]      ; the cached translation: A stays clear
  mov qword [DATA_PAGE + 16], 1 ; a write needs D: a walk sets A and D
  and qword [rel pt], ~AD_BITS
  mov qword [DATA_PAGE + 24], 2 ; cached and writable: no walk
  mov rax, [DATA_PAGE + 32]
global code_page
code_page:
  mov byte [CODE_PAGE], 0xc3    ; ret
  mov eax, CODE_PAGE
  call rax                      ; the page holds decoded code now: its fast writes are withdrawn
  and qword [rel pt + 8], ~AD_BITS
  mov qword [CODE_PAGE + 8], 3  ; through the cached translation, which invalidates the code
  mov qword [CODE_PAGE + 16], 4
global checks
checks:
  test qword [rel pt], AD_BITS
  jnz .data_walked
  test qword [rel pt + 8], AD_BITS
  jnz .code_walked
  guest_exit GUEST_PASS
.data_walked:
  guest_exit GUEST_FAIL_BASE + 1
.code_walked:
  guest_exit GUEST_FAIL_BASE + 2

section .bss align=4096
global pt
pml4: resq 512
pdpt: resq 512
pd: resq 512
pt: resq 512
