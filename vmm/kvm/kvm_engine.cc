#include "vmm/kvm/kvm_engine.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/kvm/kvm_cpuid.h"
#include "vmm/kvm/kvm_state.h"
#include "vmm/msr_model.h"
#include "vmm/vcpu_kicker.h"

namespace rrvm {

namespace {

// Where KVM on Intel keeps the real-mode TSS and identity map: three pages just below the BIOS
// area, inside the MMIO hole so they never collide with guest RAM.
constexpr uint64_t kTssAddress = 0xfffbd000;
constexpr uint64_t kIdentityMapAddress = 0xfffbc000;

bool host_has_hardware_virt() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) == 0)
      return line.find(" vmx") != std::string::npos || line.find(" svm") != std::string::npos;
  }
  return false;
}

} // namespace

KvmHostInfo probe_kvm_host() {
  KvmHostInfo info{false, host_has_hardware_virt(), ""};
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    info.why_not = errno_message("/dev/kvm", errno);
    return info;
  }
  ::close(fd);
  info.available = true;
  return info;
}

void KvmEngine::fail(const char* what, int err) {
  throw Error(ExitCode::kNoHost, errno_message(std::string("kvm: ") + what, err));
}

KvmEngine::KvmEngine(GuestMemory& memory) : memory_(memory) {
  kvm_ = UniqueFd(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!kvm_) {
    int err = errno;
    if (err == ENOENT)
      throw Error(ExitCode::kNoHost, "/dev/kvm does not exist: KVM is not available on this host "
                                     "(try --engine emu)");
    if (err == EACCES || err == EPERM)
      throw Error(ExitCode::kNoHost, "/dev/kvm: permission denied (add yourself to the kvm group "
                                     "or try --engine emu)");
    fail("open /dev/kvm", err);
  }
  if (ioctl(kvm_.get(), KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
    throw Error(ExitCode::kNoHost, "kvm: unsupported KVM API version");
  vm_ = UniqueFd(ioctl(kvm_.get(), KVM_CREATE_VM, 0));
  if (!vm_) fail("KVM_CREATE_VM", errno);

  // Real KVM on Intel needs these for real-mode guests; other KVM flavours may refuse them.
  ioctl(vm_.get(), KVM_SET_TSS_ADDR, kTssAddress);
  uint64_t identity_map = kIdentityMapAddress;
  ioctl(vm_.get(), KVM_SET_IDENTITY_MAP_ADDR, &identity_map);

  kvm_userspace_memory_region region{};
  region.slot = 0;
  region.guest_phys_addr = 0;
  region.memory_size = memory.size();
  region.userspace_addr = reinterpret_cast<uint64_t>(memory.host());
  if (ioctl(vm_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0)
    fail("KVM_SET_USER_MEMORY_REGION", errno);

  vcpu_ = UniqueFd(ioctl(vm_.get(), KVM_CREATE_VCPU, 0));
  if (!vcpu_) fail("KVM_CREATE_VCPU", errno);
  int run_size = ioctl(kvm_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (run_size < static_cast<int>(sizeof(kvm_run))) fail("KVM_GET_VCPU_MMAP_SIZE", errno);
  void* run = mmap(nullptr, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_.get(), 0);
  if (run == MAP_FAILED) fail("mmap kvm_run", errno);
  run_mapping_ = UniqueMapping(run, run_size);
  run_ = static_cast<kvm_run*>(run);

  if (ioctl(vm_.get(), KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) & KVM_SYNC_X86_REGS) {
    run_->kvm_valid_regs = KVM_SYNC_X86_REGS;
    sync_regs_ = true;
  }
  cpuid_ = fixed_kvm_cpuid(kvm_.get());
  set_kvm_cpuid(vcpu_.get(), cpuid_);
  setup_msr_filter();
}

void KvmEngine::setup_msr_filter() {
  // The one MSR model (msr_model.h): KVM keeps the MSRs the engine carries; every other guest
  // access is denied, which routes it to userspace, where the machine answers it as emu's does
  // (the TSC family from the virtual clock, constants, #GP for the rest).
  if (ioctl(vm_.get(), KVM_CHECK_EXTENSION, KVM_CAP_X86_MSR_FILTER) <= 0) return;
  kvm_enable_cap cap{};
  cap.cap = KVM_CAP_X86_USER_SPACE_MSR;
  cap.args[0] = KVM_MSR_EXIT_REASON_FILTER;
  if (ioctl(vm_.get(), KVM_ENABLE_CAP, &cap) < 0) return;
  kvm_msr_filter filter{};
  filter.flags = KVM_MSR_FILTER_DEFAULT_DENY;
  static uint8_t allow_bitmap[1] = {1}; // one MSR per range, allowed
  unsigned ranges = 0;
  for (const MsrModel& model : msr_models()) {
    if (model.owner != MsrOwner::kEngine) continue;
    if (ranges == KVM_MSR_FILTER_MAX_RANGES) return; // cannot express the model: no filter
    kvm_msr_filter_range& range = filter.ranges[ranges++];
    range.flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE;
    range.base = model.index;
    range.nmsrs = 1;
    range.bitmap = allow_bitmap;
  }
  msr_filter_active_ = ioctl(vm_.get(), KVM_X86_SET_MSR_FILTER, &filter) == 0;
}

void KvmEngine::enable_dirty_log() {
  kvm_userspace_memory_region region{};
  region.slot = 0;
  region.flags = KVM_MEM_LOG_DIRTY_PAGES;
  region.guest_phys_addr = 0;
  region.memory_size = memory_.size();
  region.userspace_addr = reinterpret_cast<uint64_t>(memory_.host());
  if (ioctl(vm_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0)
    fail("KVM_SET_USER_MEMORY_REGION (dirty logging)", errno);
}

void KvmEngine::collect_dirty_pages(std::vector<uint64_t>& bitmap) {
  std::vector<uint64_t> fresh((memory_.size() / kPageSize + 63) / 64);
  kvm_dirty_log log{};
  log.slot = 0;
  log.dirty_bitmap = fresh.data();
  if (ioctl(vm_.get(), KVM_GET_DIRTY_LOG, &log) < 0) fail("KVM_GET_DIRTY_LOG", errno);
  bitmap.resize(fresh.size());
  for (size_t i = 0; i < fresh.size(); ++i)
    bitmap[i] |= fresh[i];
}

Exit& KvmEngine::run() {
  vcpu_tid_.store(static_cast<pid_t>(syscall(SYS_gettid)), std::memory_order_relaxed);
  if (run_->exit_reason == KVM_EXIT_X86_RDMSR || run_->exit_reason == KVM_EXIT_X86_WRMSR) {
    run_->msr.error = msr_fault_ ? 1 : 0;
    if (run_->exit_reason == KVM_EXIT_X86_RDMSR) run_->msr.data = msr_value_;
    msr_fault_ = false;
  }
  exit_.detail.clear();
  int rc = ioctl(vcpu_.get(), KVM_RUN, 0);
  int err = errno;
  run_->immediate_exit = 0;
  if (rc < 0) {
    if (err == EINTR || err == EAGAIN) {
      run_->exit_reason = KVM_EXIT_INTR;
      exit_.reason = ExitReason::kKicked;
      return exit_;
    }
    fail("KVM_RUN", err);
  }
  switch (run_->exit_reason) {
  case KVM_EXIT_IO:
    exit_.reason = ExitReason::kIo;
    exit_.io.port = run_->io.port;
    exit_.io.size = run_->io.size;
    exit_.io.write = run_->io.direction == KVM_EXIT_IO_OUT;
    exit_.io.count = run_->io.count;
    exit_.io.data = reinterpret_cast<uint8_t*>(run_) + run_->io.data_offset;
    break;
  case KVM_EXIT_MMIO:
    exit_.reason = ExitReason::kMmio;
    exit_.mmio.gpa = run_->mmio.phys_addr;
    exit_.mmio.size = static_cast<uint8_t>(run_->mmio.len);
    exit_.mmio.write = run_->mmio.is_write;
    exit_.mmio.data = run_->mmio.data;
    break;
  case KVM_EXIT_HLT:
    exit_.reason = ExitReason::kHlt;
    break;
  case KVM_EXIT_IRQ_WINDOW_OPEN:
    exit_.reason = ExitReason::kInterruptWindow;
    break;
  case KVM_EXIT_X86_RDMSR:
  case KVM_EXIT_X86_WRMSR:
    exit_.reason =
        run_->exit_reason == KVM_EXIT_X86_RDMSR ? ExitReason::kMsrRead : ExitReason::kMsrWrite;
    exit_.msr.index = run_->msr.index;
    msr_value_ = run_->msr.data;
    exit_.msr.value = &msr_value_;
    exit_.msr.fault = &msr_fault_;
    break;
  case KVM_EXIT_SHUTDOWN:
    exit_.reason = ExitReason::kShutdown;
    break;
  case KVM_EXIT_DEBUG: {
    exit_.reason = ExitReason::kDebug;
    const auto& arch = run_->debug.arch;
    exit_.debug.address = arch.pc;
    exit_.debug.cause = DebugCause::kStep;
    for (unsigned i = 0; i < 4 && i < breakpoints_.size(); ++i) {
      if (arch.dr6 & (1u << i)) {
        static constexpr DebugCause kCause[] = {DebugCause::kBreakpoint, DebugCause::kWatchWrite,
                                                DebugCause::kWatchRead, DebugCause::kWatchAccess};
        exit_.debug.cause = kCause[static_cast<unsigned>(breakpoints_[i].kind)];
        exit_.debug.address = breakpoints_[i].address;
      }
    }
    break;
  }
  case KVM_EXIT_INTR:
    exit_.reason = ExitReason::kKicked;
    break;
  case KVM_EXIT_INTERNAL_ERROR:
    exit_.reason = ExitReason::kInternalError;
    exit_.detail = "KVM internal error, suberror " + std::to_string(run_->internal.suberror) +
                   (run_->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
                        ? " (KVM could not emulate the instruction)"
                        : "");
    break;
  case KVM_EXIT_FAIL_ENTRY:
    exit_.reason = ExitReason::kInternalError;
    exit_.detail = "KVM could not enter the guest, hardware reason 0x" + [](uint64_t v) {
      char b[32];
      std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(v));
      return std::string(b);
    }(run_->fail_entry.hardware_entry_failure_reason);
    break;
  default:
    exit_.reason = ExitReason::kInternalError;
    exit_.detail = "unexpected KVM exit reason " + std::to_string(run_->exit_reason);
    break;
  }
  return exit_;
}

void KvmEngine::kick() {
  // Async-signal-safe: a plain store into the shared run page and a raw syscall.
  run_->immediate_exit = 1;
  pid_t tid = vcpu_tid_.load(std::memory_order_relaxed);
  if (tid != 0 && tid != static_cast<pid_t>(syscall(SYS_gettid)))
    syscall(SYS_tgkill, getpid(), tid, VcpuKicker::signal_number());
}

CpuState KvmEngine::state() {
  return read_kvm_state(vcpu_.get());
}

uint64_t KvmEngine::exit_rip() {
  if (!sync_regs_) return state().rip;
  return run_->s.regs.regs.rip;
}

void KvmEngine::set_state(const CpuState& state) {
  write_kvm_state(vcpu_.get(), state);
}

bool KvmEngine::can_inject() {
  return run_->ready_for_interrupt_injection && run_->if_flag;
}

bool KvmEngine::interrupts_enabled() {
  return run_->if_flag; // KVM reports it at every exit (no in-kernel local APIC here)
}

void KvmEngine::inject_interrupt(uint8_t vector) {
  kvm_interrupt irq{vector};
  if (ioctl(vcpu_.get(), KVM_INTERRUPT, &irq) < 0) fail("KVM_INTERRUPT", errno);
}

void KvmEngine::request_interrupt_window(bool enable) {
  run_->request_interrupt_window = enable ? 1 : 0;
}

void KvmEngine::set_single_step(bool enable) {
  single_step_ = enable;
  apply_guest_debug();
}

void KvmEngine::set_hw_breakpoints(std::span<const HwBreakpoint> points) {
  if (points.size() > max_hw_breakpoints())
    throw Error(ExitCode::kUsage, "kvm supports at most 4 hardware breakpoints and watchpoints");
  breakpoints_.assign(points.begin(), points.end());
  apply_guest_debug();
}

void KvmEngine::apply_guest_debug() {
  kvm_guest_debug debug{};
  if (single_step_ || !breakpoints_.empty()) debug.control = KVM_GUESTDBG_ENABLE;
  if (single_step_) debug.control |= KVM_GUESTDBG_SINGLESTEP;
  if (!breakpoints_.empty()) {
    debug.control |= KVM_GUESTDBG_USE_HW_BP;
    uint64_t dr7 = 0;
    for (unsigned i = 0; i < breakpoints_.size(); ++i) {
      const auto& bp = breakpoints_[i];
      debug.arch.debugreg[i] = bp.address;
      static constexpr uint64_t kRw[] = {0, 1, 3, 3}; // execute, write, read(=rw), access
      static constexpr uint64_t kLen[] = {0, 0, 1, 1, 3, 3, 3, 3, 2}; // DR7 LEN by bytes
      uint64_t len = bp.kind == WatchKind::kExecute ? 0 : kLen[bp.length > 8 ? 8 : bp.length];
      dr7 |= 1ull << (i * 2);
      dr7 |= (kRw[static_cast<unsigned>(bp.kind)] | len << 2) << (16 + i * 4);
    }
    debug.arch.debugreg[7] = dr7;
  }
  if (ioctl(vcpu_.get(), KVM_SET_GUEST_DEBUG, &debug) < 0) fail("KVM_SET_GUEST_DEBUG", errno);
}

} // namespace rrvm
