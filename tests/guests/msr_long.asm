; ELF64 guest for the one MSR model (vmm/msr_model.h): reads every modelled MSR and some unknown
; ones and prints, per MSR, "index=value" (the exact ones), "index=ok" (the clock-derived ones,
; whose values depend on time) or "index=#GP", then writes IA32_BIOS_SIGN_ID and IA32_STAR and
; reads them back. Both engines must print the same lines.
%include "guest.inc"
%include "long.inc"

%define GP_VECTOR 13
%define FAULTED 0x6667 ; RDX:RAX the #GP handler leaves

section .text
global _start
_start:
  call idt_install
  mov rdi, GP_VECTOR
  lea rsi, [rel gp_handler]
  call set_gate

  lea rbx, [rel exact_msrs]
.exact:
  mov ecx, [rbx]
  cmp ecx, -1
  je .clock_start
  call read_and_print
  add rbx, 4
  jmp .exact

.clock_start:
  lea rbx, [rel clock_msrs]
.clock:
  mov ecx, [rbx]
  cmp ecx, -1
  je .writes
  call read_only
  call print_index
  mov al, 'o'
  cmp r12, 0
  jne .clock_faulted
  serial_putc_al
  mov al, 'k'
  serial_putc_al
  jmp .clock_next
.clock_faulted:
  call print_gp
.clock_next:
  mov al, 10
  serial_putc_al
  add rbx, 4
  jmp .clock

.writes:
  mov ecx, 0x8b                 ; IA32_BIOS_SIGN_ID: Linux writes 0, runs CPUID, reads
  xor eax, eax
  xor edx, edx
  wrmsr
  mov eax, 1
  cpuid
  mov ecx, 0x8b
  call read_and_print
  mov ecx, 0xc0000081           ; IA32_STAR: the engine's state
  mov eax, 0x11223344
  mov edx, 0x00230010
  wrmsr
  call read_and_print
  mov ecx, 0x12345678           ; an unknown MSR: the write faults
  xor r12, r12
  wrmsr
  call print_index
  call print_gp_or_ok
  mov al, 10
  serial_putc_al
  guest_exit GUEST_PASS

; read_only: RDMSR of ECX into RDX:RAX; R12 = 1 when it raised #GP.
read_only:
  xor r12, r12
  rdmsr
  ret

; read_and_print: "ECX=value\n" or "ECX=#GP\n".
read_and_print:
  call read_only
  shl rdx, 32
  mov eax, eax
  or rax, rdx
  mov r13, rax
  call print_index
  cmp r12, 0
  jne .faulted
  mov rax, r13
  mov r14, 16
  call print_hex
  jmp .end
.faulted:
  call print_gp
.end:
  mov al, 10
  serial_putc_al
  ret

; print_index: "ECX=" (ECX preserved).
print_index:
  push rcx
  mov eax, ecx
  mov r14, 8
  call print_hex
  mov al, '='
  serial_putc_al
  pop rcx
  ret

print_gp_or_ok:
  cmp r12, 0
  jne print_gp
  mov al, 'o'
  serial_putc_al
  mov al, 'k'
  serial_putc_al
  ret

print_gp:
  lea rsi, [rel gp_text]
  jmp puts

; print_hex: the low R14 hex digits of RAX (clobbers RAX, RCX, RDX, R14, R15).
print_hex:
  mov r15, rax
  lea rcx, [r14 * 4]
.digit:
  sub rcx, 4
  mov rax, r15
  shr rax, cl
  and eax, 0xf
  cmp al, 10
  jb .decimal
  add al, 'a' - 10
  jmp .put
.decimal:
  add al, '0'
.put:
  push rcx
  serial_putc_al
  pop rcx
  test rcx, rcx
  jnz .digit
  ret

; #GP: skip the 2-byte RDMSR/WRMSR, report it in R12.
gp_handler:
  add rsp, 8                    ; the error code
  add qword [rsp], 2
  mov r12, 1
  mov eax, FAULTED
  xor edx, edx
  iretq

section .rodata
gp_text: db "#GP", 0
exact_msrs:
  dd 0x17, 0x3a, 0x8b, 0x1a0                            ; constants
  dd 0x174, 0x175, 0x176, 0x277                         ; the engine's state
  dd 0xc0000080, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084
  dd 0xc0000100, 0xc0000101, 0xc0000102
  dd 0x1b, 0xfe, 0x2ff, 0xc0000103, 0x4b564d00, 0x12345678 ; unknown: #GP
  dd -1
clock_msrs:
  dd 0x10, 0x3b, 0xe7, 0xe8, 0x6e0
  dd -1
