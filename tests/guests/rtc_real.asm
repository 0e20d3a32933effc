; Real-mode flat guest (load with --flat 0x7c00): reads the RTC time in BCD and checks it, checks
; the CMOS memory-size bytes for 64 MiB of RAM, then takes 32 periodic RTC interrupts on IRQ8
; (1024 Hz) and exits with GUEST_PASS. Failure n exits with GUEST_FAIL_BASE + n.
%include "guest.inc"
%include "pic.inc"
bits 16
org 0x7c00

%macro cmos_read 1                ; AL = CMOS register %1 (NMI stays enabled)
  mov al, %1
  out 0x70, al
  in al, 0x71
%endmacro

%macro check_bcd_below 2          ; fail %2 unless AL is valid BCD and below BCD value %1
  mov ah, al
  and ah, 0x0f
  cmp ah, 9
  ja fail_%2
  cmp al, %1
  jae fail_%2
%endmacro

  cli
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7c00
.uip:
  cmos_read 0x0a
  test al, 0x80                   ; wait while an update is in progress
  jnz .uip
  cmos_read 0x00
  check_bcd_below 0x60, 1
  cmos_read 0x02
  check_bcd_below 0x60, 2
  cmos_read 0x04
  check_bcd_below 0x24, 3
  cmos_read 0x15                  ; base memory 640 KiB = 0x0280
  cmp al, 0x80
  jne fail_4
  cmos_read 0x17                  ; extended memory 63 MiB = 64512 KiB = 0xfc00
  cmp al, 0x00
  jne fail_5
  cmos_read 0x18
  cmp al, 0xfc
  jne fail_5

  mov word [0x70 * 4], rtc_handler
  mov word [0x70 * 4 + 2], 0
  pic_init 0x08, 0x70, 0xfb, 0xfe  ; master: IRQ2 (cascade) only; slave: IRQ8 only
  mov al, 0x0a
  out 0x70, al
  mov al, 0x26                    ; 32.768 kHz base, rate 6 = 1024 Hz
  out 0x71, al
  cmos_read 0x0b
  or al, 0x40                     ; PIE
  mov ah, al
  mov al, 0x0b
  out 0x70, al
  mov al, ah
  out 0x71, al
  sti
.wait:
  hlt
  cmp word [ticks], 32
  jb .wait
  cli
  mov si, message
.print:
  lodsb
  test al, al
  jz .done
  serial_putc_al
  jmp .print
.done:
  guest_exit GUEST_PASS

fail_1: guest_exit GUEST_FAIL_BASE + 1
fail_2: guest_exit GUEST_FAIL_BASE + 2
fail_3: guest_exit GUEST_FAIL_BASE + 3
fail_4: guest_exit GUEST_FAIL_BASE + 4
fail_5: guest_exit GUEST_FAIL_BASE + 5

rtc_handler:
  push ax
  cmos_read 0x0c                  ; acknowledge: reading C clears the flags and IRQ8
  inc word [ticks]
  mov al, 0x20
  out 0xa0, al
  out 0x20, al
  pop ax
  iret

ticks: dw 0
message: db "RTC: time is BCD, memory size ok, 32 periodic interrupts", 10, 0
