; 32-bit protected mode with paging: #DE, #UD, #BP, #GP on a bad selector (error code), #PF on a
; not-present page and on a write to a read-only page (CR2 and error code), then IRET to ring 3,
; INT 0x80 from ring 3 (stack switch through the TSS), #GP from ring 3 and IRET back to it.
; Prints one letter per passed check ("DUBGNWSXK") and exits 0, or 1 at the first failure.
%include "emu.inc"

%define LAST_VEC 0x6000
%define LAST_ERR 0x6004
%define LAST_CR2 0x6008
%define LAST_CS 0x600c
%define LAST_ESP 0x6010
%define RESUME 0x6014
%define IDT 0x9000
%define TSS 0xa000
%define KSTACK 0x90000
%define USTACK 0x80000

; Builds IDT entry %1 -> handler %2 with gate type/DPL byte %3.
%macro gate 3
  mov eax, %2
  mov word [IDT + %1 * 8], ax
  mov word [IDT + %1 * 8 + 2], 0x08
  mov byte [IDT + %1 * 8 + 4], 0
  mov byte [IDT + %1 * 8 + 5], %3
  shr eax, 16
  mov word [IDT + %1 * 8 + 6], ax
%endmacro

%macro expect 2
  cmp dword [%1], %2
  jne fail
%endmacro

boot_real
boot_protected KSTACK
  cld
  mov edi, IDT
  mov ecx, 256 * 2
  xor eax, eax
  rep stosd
  gate 0, stub0, 0x8e
  gate 3, stub3, 0xee
  gate 6, stub6, 0x8e
  gate 13, stub13, 0x8e
  gate 14, stub14, 0x8e
  gate 0x80, stub80, 0xef
  gate 0x81, finish, 0xee
  lidt [idt_desc]

  ; #DE
  mov dword [RESUME], .de_done
  xor edx, edx
  xor ecx, ecx
  mov eax, 5
  div ecx
.de_done:
  expect LAST_VEC, 0
  putc 'D'
  ; #UD
  mov dword [RESUME], .ud_done
  ud2
.ud_done:
  expect LAST_VEC, 6
  putc 'U'
  ; #BP (a trap: the handler sees the address after INT3)
  mov dword [RESUME], 0
  int3
  expect LAST_VEC, 3
  putc 'B'
  ; #GP(0x1230): selector beyond the GDT limit
  mov dword [RESUME], .gp_done
  mov ax, 0x1230
  mov ds, ax
.gp_done:
  expect LAST_VEC, 13
  expect LAST_ERR, 0x1230
  mov ax, 0x10
  mov ds, ax
  putc 'G'

  ; Paging: 0-4M user RW (PSE), 0x400000 -> read-only user 4K page, 0x800000 not present.
  mov edi, 0x100000
  mov ecx, 0x2000 / 4
  xor eax, eax
  rep stosd
  mov dword [0x100000], 0x87
  mov dword [0x100004], 0x101007
  mov dword [0x101000], 0x200005
  mov eax, cr4
  or eax, 0x10
  mov cr4, eax
  mov eax, 0x100000
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80010000 ; PG | WP
  mov cr0, eax

  mov dword [RESUME], .np_done
  mov eax, [0x800010]
.np_done:
  expect LAST_VEC, 14
  expect LAST_ERR, 0
  expect LAST_CR2, 0x800010
  putc 'N'
  mov dword [RESUME], .wp_done
  mov dword [0x400020], 1
.wp_done:
  expect LAST_VEC, 14
  expect LAST_ERR, 3
  expect LAST_CR2, 0x400020
  putc 'W'

  ; TSS with SS0:ESP0 for ring 3 -> ring 0 transitions.
  mov dword [TSS + 4], KSTACK
  mov dword [TSS + 8], 0x10
  mov word [TSS + 0x66], 0x68
  mov eax, TSS
  mov word [tss_desc], 0x67
  mov word [tss_desc + 2], ax
  shr eax, 16
  mov byte [tss_desc + 4], al
  mov byte [tss_desc + 5], 0x89
  mov byte [tss_desc + 6], 0
  mov byte [tss_desc + 7], ah
  mov ax, 0x30
  ltr ax

  ; IRET to ring 3.
  mov dword [RESUME], 0
  push 0x23
  push USTACK
  push 0x202
  push 0x43
  push user
  iret

bits 32
user:
  mov ax, 0x23
  mov ds, ax
  mov es, ax
  ; INT 0x80 from ring 3: the handler runs on the TSS stack and sees CS=0x43.
  int 0x80
  cmp dword [LAST_CS], 0x43
  jne user_fail
  mov eax, [LAST_ESP]
  cmp eax, KSTACK - 0x100
  jb user_fail
  cmp eax, KSTACK
  ja user_fail
  mov ax, cs
  and ax, 3
  cmp ax, 3
  jne user_fail
  mov al, 'S'
  mov dx, COM1
  out dx, al        ; IOPL 0 at ring 3: this OUT faults with #GP; the handler resumes below
user_after_out:
  cmp dword [LAST_VEC], 13
  jne user_fail
  cmp dword [LAST_CS], 0x43
  jne user_fail
  int 0x81          ; back to ring 0 for good
user_fail:
  int 0x81

; Ring-0 continuation through the 0x81 gate.
finish:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  cmp dword [LAST_VEC], 13
  jne fail
  putc 'S'
  mov eax, [esp + 4]
  cmp eax, 0x43
  jne fail
  putc 'X'
  putc 'K'
  putc 10
  guest_exit 0

fail:
  mov ax, 0x10
  mov ds, ax
  putc '!'
  guest_exit 1

stub0:
  push 0
  push 0
  jmp isr_common
stub3:
  push 0
  push 3
  jmp isr_common
stub6:
  push 0
  push 6
  jmp isr_common
stub13:
  push 13
  jmp isr_common
stub14:
  push 14
  jmp isr_common
stub80:
  push 0
  push 0x80
  jmp isr_common

; Stack: vector, error, eip, cs, eflags[, esp, ss]. Records them and resumes at [RESUME] when set.
isr_common:
  push eax
  push ds
  mov ax, 0x10
  mov ds, ax
  mov eax, [esp + 8]
  cmp eax, 13
  jne .not_user_gp
  cmp dword [esp + 20], 0x43
  jne .not_user_gp
  mov dword [RESUME], user_after_out
.not_user_gp:
  mov [LAST_VEC], eax
  mov eax, [esp + 12]
  mov [LAST_ERR], eax
  mov eax, cr2
  mov [LAST_CR2], eax
  mov eax, [esp + 20]
  mov [LAST_CS], eax
  mov [LAST_ESP], esp
  mov eax, [RESUME]
  test eax, eax
  jz .keep
  mov [esp + 16], eax
  mov dword [RESUME], 0
.keep:
  pop ds
  pop eax
  add esp, 8
  iret

idt_desc:
  dw 256 * 8 - 1
  dd IDT

flat_gdt
