; The mixed benchmark guest of issues 12 and 13, a multiboot v1 ELF32 kernel that rrvm and
; `qemu-system-i386 -kernel` both boot. In ROUNDS rounds it computes, prints numbered lines on
; COM1, reads the RTC's time and idles through PIT ticks with HLT; the PIT interrupts at ~1 kHz
; all the time, as an OS's timer would. With the defaults: ~1.2 G instructions of integer
; computation over a 256 KiB array, 20 000 lines, 300 RTC reads, 200 idle ticks. Each line shows
; a value derived from the computation so far and the last line its checksum, so a wrong
; emulation shows in the output; the RTC's values (host time) are checked, never printed, so the
; output is the same in every run. Ends with GUEST_PASS on isa-debug-exit, or GUEST_FAIL_BASE + 1
; when the RTC reads something that is not a BCD time.
; The sizes can be set with nasm -D (a reduced variant for tests): ROUNDS, LINES_PER_ROUND,
; PASSES_PER_ROUND. tests/emu/mixed_guest_test.cc computes the same output on the host.
%include "guest.inc"
%include "pic.inc"
bits 32

%ifndef ROUNDS
%define ROUNDS 100
%endif
%ifndef LINES_PER_ROUND
%define LINES_PER_ROUND 200
%endif
%ifndef PASSES_PER_ROUND
%define PASSES_PER_ROUND 11
%endif
%define RTC_READS_PER_ROUND 3
%define IDLE_TICKS_PER_ROUND 2
%define ARRAY_DWORDS 65536
%define CODE_SELECTOR 0x08
%define DATA_SELECTOR 0x10

section .multiboot
align 4
  dd 0x1badb002
  dd 0
  dd -0x1badb002

section .text
global _start
_start:
  ; Multiboot leaves the stack undefined and the GDT the loader's: set up both before any
  ; segment load, as an OS does.
  mov esp, stack_top
  cld
  lgdt [gdt_descriptor]
  jmp CODE_SELECTOR:.flat
.flat:
  mov ax, DATA_SELECTOR
  mov ds, ax
  mov es, ax
  mov fs, ax
  mov gs, ax
  mov ss, ax
  mov eax, timer_handler
  mov edi, idt + 0x20 * 8
  mov [edi], ax
  mov word [edi + 2], CODE_SELECTOR
  mov word [edi + 4], 0x8e00      ; present 32-bit interrupt gate
  shr eax, 16
  mov [edi + 6], ax
  lidt [idt_descriptor]
  pic_init 0x20, 0x28, 0xfe, 0xff
  pit_periodic 1193
  call fill_array
  sti
.round:
  mov ebx, PASSES_PER_ROUND
.pass:
  call compute_pass
  dec ebx
  jnz .pass
  call print_lines
  mov ebx, RTC_READS_PER_ROUND
.rtc:
  call read_rtc_time
  dec ebx
  jnz .rtc
  call idle
  inc dword [rounds_done]
  cmp dword [rounds_done], ROUNDS
  jb .round

  mov esi, summary_checksum
  call puts
  mov eax, [checksum]
  call put_hex8
  mov esi, summary_lines
  mov eax, [lines]
  call put_count
  mov esi, summary_rtc
  mov eax, [rtc_reads]
  call put_count
  mov esi, summary_idle
  mov eax, [idle_ticks]
  call put_count
  mov al, 10
  call putc
  guest_exit GUEST_PASS

rtc_invalid:
  cli
  mov esi, rtc_message
  call puts
  guest_exit GUEST_FAIL_BASE + 1

; a[i] = (i * 16777619) ^ 2166136261, FNV's constants: nothing left to the loader's zeroing.
fill_array:
  xor ecx, ecx
.next:
  imul eax, ecx, 16777619
  xor eax, 2166136261
  mov [array + ecx * 4], eax
  inc ecx
  cmp ecx, ARRAY_DWORDS
  jb .next
  ret

; One pass over the array, mixing on even passes and counting buckets on odd ones; folds the
; pass's hash into the checksum. Preserves EBX.
compute_pass:
  push ebx
  mov ebx, [pass]
  test ebx, 1
  jnz .odd
  call mix_pass
  jmp .fold
.odd:
  call histogram_pass
.fold:
  mov edx, [checksum]
  rol edx, 1
  xor edx, eax
  mov [checksum], edx
  inc dword [pass]
  pop ebx
  ret

; EBX = pass number. For each i: a[i] = (a[i] * 0x9e3779b1 + a[(7i + pass) mod N]) ^ (h >> 3),
; h = rol(h + a[i], 5), h starting at the checksum. Returns h in EAX.
mix_pass:
  push ebp
  push esi
  mov ebp, [checksum]
  xor ecx, ecx
.next:
  mov eax, [array + ecx * 4]
  imul eax, eax, 0x9e3779b1
  lea edx, [ecx * 8]
  sub edx, ecx
  add edx, ebx
  and edx, ARRAY_DWORDS - 1
  add eax, [array + edx * 4]
  mov esi, ebp
  shr esi, 3
  xor eax, esi
  mov [array + ecx * 4], eax
  add ebp, eax
  rol ebp, 5
  inc ecx
  cmp ecx, ARRAY_DWORDS
  jb .next
  mov eax, ebp
  pop esi
  pop ebp
  ret

; EBX = pass number. Counts bucket(a[i] + pass) into a 256-entry histogram (zeroed first), with
; h = h * 31 + count, h starting at the checksum. Returns h ^ histogram[pass mod 256] in EAX.
histogram_pass:
  push ebp
  push edi
  mov edi, histogram
  mov ecx, 256
  xor eax, eax
  rep stosd
  mov ebp, [checksum]
  xor ecx, ecx
.next:
  mov eax, [array + ecx * 4]
  add eax, ebx
  call bucket_of
  mov edx, [histogram + eax * 4]
  inc edx
  mov [histogram + eax * 4], edx
  imul ebp, ebp, 31
  add ebp, edx
  inc ecx
  cmp ecx, ARRAY_DWORDS
  jb .next
  movzx eax, bl
  mov eax, [histogram + eax * 4]
  xor eax, ebp
  pop edi
  pop ebp
  ret

; EAX = ((v ^ (v >> 16)) * 0x45d9f3b) >> 24 for v = EAX. Clobbers EDX.
bucket_of:
  mov edx, eax
  shr edx, 16
  xor eax, edx
  imul eax, eax, 0x45d9f3b
  shr eax, 24
  ret

; LINES_PER_ROUND lines "line NNNNN XXXXXXXX": the line number counted from 1 and a value
; v = v * 1664525 + 1013904223 that starts each round at the checksum.
print_lines:
  push ebx
  push ebp
  mov ebp, [checksum]
  mov ebx, LINES_PER_ROUND
.next:
  mov esi, line_prefix
  call puts
  inc dword [lines]
  mov eax, [lines]
  mov ecx, 5
  call put_decimal
  mov al, ' '
  call putc
  imul ebp, ebp, 1664525
  add ebp, 1013904223
  mov eax, ebp
  call put_hex8
  mov al, 10
  call putc
  dec ebx
  jnz .next
  pop ebp
  pop ebx
  ret

; Reads the RTC's time as an OS's driver does: waits while an update is in progress, then reads
; seconds to year and checks each is BCD below its limit. Preserves EBX.
read_rtc_time:
  push ebx
.update_in_progress:
  mov al, 0x0a
  out 0x70, al
  in al, 0x71
  test al, 0x80
  jnz .update_in_progress
  mov esi, rtc_limits
.register:
  lodsw                           ; AL = register, AH = BCD limit (exclusive)
  test al, al
  js .done                        ; the 0xff that ends the table
  out 0x70, al
  in al, 0x71
  mov bl, al
  and bl, 0x0f
  cmp bl, 9
  ja rtc_invalid
  cmp al, ah
  jae rtc_invalid
  jmp .register
.done:
  inc dword [rtc_reads]
  pop ebx
  ret

; Sleeps with HLT until IDLE_TICKS_PER_ROUND more timer interrupts have come.
idle:
  mov eax, [ticks]
  add eax, IDLE_TICKS_PER_ROUND
.wait:
  hlt
  cmp [ticks], eax
  jb .wait
  add dword [idle_ticks], IDLE_TICKS_PER_ROUND
  ret

timer_handler:
  push eax
  inc dword [ticks]
  mov al, 0x20
  out 0x20, al
  pop eax
  iret

; Prints the string at ESI, then EAX in decimal.
put_count:
  push eax
  call puts
  pop eax
  xor ecx, ecx
  jmp put_decimal

; EAX in decimal, at least ECX digits (zero-padded).
put_decimal:
  mov edi, digits_end
  mov esi, 10
.digit:
  xor edx, edx
  div esi
  add dl, '0'
  dec edi
  mov [edi], dl
  dec ecx
  test eax, eax
  jnz .digit
  cmp ecx, 0
  jg .digit
  mov esi, edi
  jmp puts

; EAX as eight hex digits.
put_hex8:
  mov ecx, 8
  mov edx, eax
.digit:
  rol edx, 4
  mov eax, edx
  and eax, 0x0f
  mov al, [hex_digits + eax]
  push edx
  call putc
  pop edx
  dec ecx
  jnz .digit
  ret

; The NUL-terminated string at ESI.
puts:
  lodsb
  test al, al
  jz .end
  call putc
  jmp puts
.end:
  ret

; AL to COM1, polling the line status as a driver without interrupts does. Clobbers AH, DX.
putc:
  serial_putc_al
  ret

section .data
align 8
gdt:
  dq 0
  dq 0x00cf9a000000ffff           ; CODE_SELECTOR: flat 32-bit code
  dq 0x00cf92000000ffff           ; DATA_SELECTOR: flat data
gdt_descriptor:
  dw 3 * 8 - 1
  dd gdt
idt_descriptor:
  dw 256 * 8 - 1
  dd idt
checksum: dd 2166136261
pass: dd 0
lines: dd 0
rtc_reads: dd 0
idle_ticks: dd 0
ticks: dd 0
rounds_done: dd 0
digits: times 10 db 0             ; put_decimal's digits, then the NUL that ends them
digits_end: db 0

section .rodata
; Register and exclusive BCD limit: seconds, minutes, hours (24-hour), day, month, year.
rtc_limits: db 0x00, 0x60, 0x02, 0x60, 0x04, 0x24, 0x07, 0x32, 0x08, 0x13, 0x09, 0xa0, 0xff, 0
hex_digits: db "0123456789abcdef"
line_prefix: db "line ", 0
summary_checksum: db "mixed: checksum ", 0
summary_lines: db ", lines ", 0
summary_rtc: db ", RTC reads ", 0
summary_idle: db ", idle ticks ", 0
rtc_message: db "mixed: the RTC read something that is not a BCD time", 10, 0

section .bss
alignb 4096
array: resd ARRAY_DWORDS
histogram: resd 256
alignb 8
idt: resb 256 * 8
resb 4096
stack_top:
