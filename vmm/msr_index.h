// x86 MSR numbers, named once (Intel SDM vol. 4). Everything else refers to them by these names.
#pragma once

#include <cstdint>

namespace rrvm::msr {

constexpr uint32_t kTsc = 0x10;
constexpr uint32_t kPlatformId = 0x17;
constexpr uint32_t kFeatureControl = 0x3a;
constexpr uint32_t kTscAdjust = 0x3b;
constexpr uint32_t kBiosSignId = 0x8b; // IA32_UCODE_REV: microcode revision in bits 63:32
constexpr uint32_t kArchCapabilities = 0x10a;
constexpr uint32_t kMperf = 0xe7;
constexpr uint32_t kAperf = 0xe8;
constexpr uint32_t kSysenterCs = 0x174;
constexpr uint32_t kSysenterEsp = 0x175;
constexpr uint32_t kSysenterEip = 0x176;
constexpr uint32_t kMiscEnable = 0x1a0;
constexpr uint32_t kPat = 0x277;
constexpr uint32_t kTscDeadline = 0x6e0;
constexpr uint32_t kEfer = 0xc0000080;
constexpr uint32_t kStar = 0xc0000081;
constexpr uint32_t kLstar = 0xc0000082;
constexpr uint32_t kCstar = 0xc0000083;
constexpr uint32_t kSfmask = 0xc0000084;
constexpr uint32_t kFsBase = 0xc0000100;
constexpr uint32_t kGsBase = 0xc0000101;
constexpr uint32_t kKernelGsBase = 0xc0000102;
constexpr uint32_t kKvmParavirtFirst = 0x4b564d00; // KVM's paravirtual MSRs (kvmclock, ...)

} // namespace rrvm::msr
