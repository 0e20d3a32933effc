#include "vector_work.h"

#include <stdint.h>

#define N 256

static put_char_fn out;

static void put_str(const char* s) {
  while (*s)
    out(*s++);
}

static void put_hex(uint64_t v, int digits) {
  for (int i = digits - 1; i >= 0; --i)
    out("0123456789abcdef"[(v >> (4 * i)) & 15]);
}

/* A checksum of an array's bits, printed with a label: one line per kernel. */
static void report(const char* label, const void* data, unsigned bytes) {
  const uint8_t* p = (const uint8_t*)data;
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned i = 0; i < bytes; ++i)
    h = (h ^ p[i]) * 0x100000001b3ull;
  put_str(label);
  put_str(" ");
  put_hex(h, 16);
  out('\n');
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static float special_float(unsigned k) {
  static const uint32_t bits[] = {0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000,
                                  0x00000001, 0x807fffff, 0x7f7fffff, 0x00800000, 0x3f800000};
  union {
    uint32_t u;
    float f;
  } v = {bits[k % 10]};
  return v.f;
}

static float fa[N], fb[N], fc[N];
static double da[N], db[N], dc[N];
static int32_t ia[N], ib[N], ic[N];
static uint8_t ua[N], ub[N], uc[N];
static int16_t sa[N], sb[N], sc[N];

static void fill(void) {
  for (int i = 0; i < N; ++i) {
    uint64_t r = next();
    fa[i] = (i % 7 == 0) ? special_float((unsigned)r) : (float)(int32_t)r / 65536.0f;
    fb[i] = (float)(int32_t)(r >> 32) / 4096.0f + 0.5f;
    da[i] = (i % 5 == 0) ? (double)special_float((unsigned)(r >> 8)) : (double)(int64_t)r / 1e9;
    db[i] = (double)(int32_t)(r >> 16) * 1e-3 - 7.25;
    ia[i] = (int32_t)r;
    ib[i] = (int32_t)(r >> 29);
    ua[i] = (uint8_t)r;
    ub[i] = (uint8_t)(r >> 40);
    sa[i] = (int16_t)(r >> 3);
    sb[i] = (int16_t)(r >> 50);
  }
}

static void float_kernels(void) {
  for (int i = 0; i < N; ++i)
    fc[i] = fa[i] * 1.5f + fb[i];
  report("saxpy", fc, sizeof fc);
  for (int i = 0; i < N; ++i)
    fc[i] = fa[i] / fb[i];
  report("fdiv", fc, sizeof fc);
  for (int i = 0; i < N; ++i)
    fc[i] = __builtin_sqrtf(fb[i] < 0 ? -fb[i] : fb[i]);
  report("fsqrt", fc, sizeof fc);
  for (int i = 0; i < N; ++i)
    fc[i] = fa[i] < fb[i] ? fa[i] : fb[i];
  report("fmin", fc, sizeof fc);
  for (int i = 0; i < N; ++i)
    fc[i] = __builtin_floorf(fb[i]) + __builtin_ceilf(fa[i] * 0.25f);
  report("floor", fc, sizeof fc);
  float sum = 0;
  for (int i = 0; i < N; ++i)
    sum += fb[i] * fb[i];
  report("fdot", &sum, sizeof sum);
  for (int i = 0; i < N; ++i)
    fc[i] = (float)ia[i] * 0.001f;
  report("cvt_i2f", fc, sizeof fc);
  for (int i = 0; i < N; ++i)
    ic[i] = (int32_t)(fb[i] * 3.0f);
  report("cvt_f2i", ic, sizeof ic);
}

static void double_kernels(void) {
  for (int i = 0; i < N; ++i)
    dc[i] = da[i] * db[i] - 3.0;
  report("dmul", dc, sizeof dc);
  for (int i = 0; i < N; ++i)
    dc[i] = __builtin_sqrt(db[i] * db[i] + 1.0);
  report("dsqrt", dc, sizeof dc);
  for (int i = 0; i < N; ++i)
    dc[i] = da[i] / (db[i] + 0.125);
  report("ddiv", dc, sizeof dc);
  for (int i = 0; i < N; ++i)
    dc[i] = (double)fb[i] + (double)ia[i];
  report("dwiden", dc, sizeof dc);
  for (int i = 0; i < N; ++i)
    fc[i] = (float)(db[i] * 1e30);
  report("dnarrow", fc, sizeof fc);
  double acc = 0;
  for (int i = 0; i < N; ++i)
    acc += db[i] / (double)(i + 1);
  report("dharmonic", &acc, sizeof acc);
}

static void integer_kernels(void) {
  for (int i = 0; i < N; ++i)
    ic[i] = (int)((unsigned)ia[i] * (unsigned)ib[i] + (unsigned)(ia[i] >> 3)); // wraps, no UB
  report("imul", ic, sizeof ic);
  for (int i = 0; i < N; ++i)
    ic[i] = ia[i] > ib[i] ? ia[i] : ib[i];
  report("imax", ic, sizeof ic);
  for (int i = 0; i < N; ++i) {
    unsigned s = ua[i] + ub[i];
    uc[i] = (uint8_t)(s > 255 ? 255 : s);
  }
  report("uadds", uc, sizeof uc);
  for (int i = 0; i < N; ++i)
    uc[i] = (uint8_t)((ua[i] + ub[i] + 1) >> 1);
  report("uavg", uc, sizeof uc);
  for (int i = 0; i < N; ++i)
    sc[i] = (int16_t)((sa[i] * sb[i]) >> 16);
  report("mulhi", sc, sizeof sc);
  uint64_t total = 0; /* wraps, no UB */
  for (int i = 0; i < N; ++i)
    total += (uint64_t)((int64_t)ia[i] * ib[i]);
  report("idot", &total, sizeof total);
  unsigned bits = 0;
  for (int i = 0; i < N; ++i)
    bits += (unsigned)__builtin_popcount((unsigned)ia[i]);
  report("popcnt", &bits, sizeof bits);
  uint32_t crc = 0xffffffffu;
  for (int i = 0; i < N; ++i)
    crc = __builtin_ia32_crc32si(crc, (unsigned)ia[i]);
  report("crc32c", &crc, sizeof crc);
  int found = -1;
  for (int i = 0; i < N; ++i)
    if (ua[i] == 0x5a) {
      found = i;
      break;
    }
  report("find", &found, sizeof found);
  for (int i = 0; i < N; ++i)
    ic[i] = (int)(ia[i] < 0 ? 0u - (unsigned)ia[i] : (unsigned)ia[i]); /* INT_MIN stays, no UB */
  report("iabs", ic, sizeof ic);
}

/* long double runs on the x87 (gcc has no other way), with float/double still on SSE. */
static void x87_kernels(void) {
  long double acc = 1.0L, sum = 0.0L;
  for (int i = 0; i < N; ++i) {
    acc = acc * (1.0L + (long double)fb[i] * 1e-4L) + (long double)da[i];
    sum += __builtin_sqrtl((long double)(i + 1)) / (long double)(ia[i] | 1);
  }
  report("ldmul", &acc, 10);
  report("ldsqrt", &sum, 10);
  for (int i = 0; i < N; ++i)
    dc[i] = (double)((long double)db[i] * (long double)da[i] / 3.0L);
  report("ldnarrow", dc, sizeof dc);
}

void vector_work(put_char_fn put) {
  out = put;
  fill();
  float_kernels();
  double_kernels();
  integer_kernels();
  x87_kernels();
  put_str("done\n");
}
