#include <algorithm>

#include "vmm/emu/jit/emitter.h"

namespace rrvm::emu {

// Guest registers in host registers within a block. The cache is written through: every write
// to a guest register also goes to the Cpu, so the Cpu's copy is always current and nothing needs
// writing back before a call, a slow path or an exit; what the cache saves is each read's trip
// through memory (a store-to-load forwarding on the block's dependency chains). A call that may
// change guest registers (a handler's) empties the cache; a slow-path stub reloads what the fast
// path holds at its resume point. The cache's host registers are callee-saved, so the helpers
// that only read the Cpu (Cpu::cond, commit_flags) keep them.

// The host register that holds guest register `g`'s 64 bits, loaded from the Cpu if none does
// yet (into a free host register, else the least recently used one's). Use it at once: the
// next cached_gpr() may hand its host register to another guest register.
Xbyak::Reg64 Emitter::cached_gpr(unsigned g) {
  const size_t slot = cache_slot(g);
  const Xbyak::Reg64 h = cache_reg(slot);
  if (cached_[slot] != int(g)) {
    mov(h, gpr64(g));
    cached_[slot] = int(g);
  }
  return h;
}

// The host register to write all 64 bits of guest register `g` into, whatever it held (the
// caller writes it, and through to the Cpu, at once).
Xbyak::Reg64 Emitter::claim_gpr(unsigned g) {
  const size_t slot = cache_slot(g);
  cached_[slot] = int(g);
  return cache_reg(slot);
}

// Guest register `g` set to all 64 bits of `value`, in the Cpu and the cache.
void Emitter::set_gpr(unsigned g, const Xbyak::Reg64& value) {
  mov(gpr64(g), value);
  const size_t slot = cache_slot(g);
  mov(cache_reg(slot), value);
  cached_[slot] = int(g);
}

// After code that wrote guest register `g` in the Cpu alone (a part of it, or in place).
void Emitter::forget_gpr(unsigned g) {
  for (int& c : cached_)
    if (c == int(g)) c = kNoGuest;
}

// After a call that may have changed any guest register.
void Emitter::forget_gprs() {
  cached_.fill(kNoGuest);
}

// Guest registers `cached` says the host registers hold, loaded again from the Cpu.
void Emitter::reload_gprs(const CachedGprs& cached) {
  for (size_t slot = 0; slot < cached.size(); ++slot)
    if (cached[slot] != kNoGuest) mov(cache_reg(slot), gpr64(unsigned(cached[slot])));
}

// The slot that holds `g`, else the one to put it in: a free one, else the least recently used.
size_t Emitter::cache_slot(unsigned g) {
  size_t slot = std::find(cached_.begin(), cached_.end(), int(g)) - cached_.begin();
  if (slot == cached_.size()) {
    slot = 0;
    for (size_t i = 0; i < cached_.size(); ++i) {
      if (cached_[i] == kNoGuest) {
        slot = i;
        break;
      }
      if (last_use_[i] < last_use_[slot]) slot = i;
    }
  }
  last_use_[slot] = ++uses_;
  return slot;
}

Xbyak::Reg64 Emitter::cache_reg(size_t slot) const {
  return Xbyak::Reg64(kCacheRegs[slot]);
}

} // namespace rrvm::emu
