/* The freestanding side of the vector guest: COM1 output and the memory functions gcc may call. */
#include <stddef.h>
#include <stdint.h>

#include "vector_work.h"

static inline void outb(uint16_t port, uint8_t v) {
  __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port) {
  uint8_t v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

static void serial_put(char c) {
  while (!(inb(0x3f8 + 5) & 0x20))
    ;
  outb(0x3f8, (uint8_t)c);
}

void* memset(void* d, int c, size_t n) {
  uint8_t* p = d;
  while (n--)
    *p++ = (uint8_t)c;
  return d;
}

void* memcpy(void* d, const void* s, size_t n) {
  uint8_t* p = d;
  const uint8_t* q = s;
  while (n--)
    *p++ = *q++;
  return d;
}

void guest_main(void) {
  vector_work(serial_put);
}
