// The server on its own: typed requests answered over an emu replay of a test guest, with a fake
// peer in place of gdb's connection.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <gtest/gtest.h>
#include <memory>

#include "debugger/gdb_server.h"
#include "debugger/hex.h"
#include "tests/support/subprocess.h"

namespace rrvm::gdb {
namespace {

using namespace request;

class FakePeer : public GdbPeer {
public:
  void send_console(std::string_view text) override { console += text; }
  bool interrupt_requested() override { return false; }
  std::string console;
};

class GdbServerTest : public ::testing::Test {
protected:
  void SetUp() override {
    char dir[] = "/tmp/rrvm-gdb-server-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    const std::string trace = dir_ + "/trace";
    test::ProcessResult r = test::run_process({test::rrvm_binary(), "record", "--engine", "emu",
                                               "-o", trace, test::guest_path("pit_long.elf")},
                                              30);
    ASSERT_EQ(r.status, 1) << r.err;
    session_ = std::make_unique<ReplaySession>(
        trace, ReplayOptions{"emu", [this](uint8_t byte) { serial_ += char(byte); }});
    controller_ = std::make_unique<ReplayController>(*session_);
    server_ = std::make_unique<GdbServer>(KernelKind::kElf64, *controller_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

public:
  std::string ask(const Request& request) {
    return server_->handle(request, peer_).value_or("<no reply>");
  }

protected:
  // The register's number in the x86-64 description, by name.
  uint64_t number(const std::string& name) {
    const RegisterMap map(true);
    for (size_t i = 0; i < map.registers().size(); ++i)
      if (map.registers()[i].name == name) return i;
    ADD_FAILURE() << "no register " << name;
    return 0;
  }
  uint64_t read(const std::string& name) {
    auto bytes = from_hex(ask(ReadRegister{number(name)}));
    EXPECT_TRUE(bytes && !bytes->empty());
    uint64_t value = 0;
    for (size_t i = bytes->size(); i-- > 0;)
      value = value << 8 | (*bytes)[i];
    return value;
  }
  std::string write(const std::string& name, uint64_t value, size_t size = 8) {
    std::vector<uint8_t> bytes;
    for (size_t i = 0; i < size; ++i)
      bytes.push_back(static_cast<uint8_t>(value >> (8 * i)));
    return ask(WriteRegister{number(name), bytes});
  }
  static Request step(bool reverse = false) {
    ResumeAction action;
    action.step = true;
    action.reverse = reverse;
    return Resume{action};
  }
  static Request resume() { return Resume{ResumeAction{}}; }

  std::string dir_, serial_;
  std::unique_ptr<ReplaySession> session_;
  std::unique_ptr<ReplayController> controller_;
  std::unique_ptr<GdbServer> server_;
  FakePeer peer_;
};

TEST_F(GdbServerTest, StepsForwardAndBackToTheSameRegisters) {
  const std::string start = ask(ReadRegisters{});
  std::vector<std::string> states{start};
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(ask(step()), "T05thread:1;");
    states.push_back(ask(ReadRegisters{}));
  }
  EXPECT_NE(states.front(), states.back());
  for (int i = 19; i >= 0; --i) {
    EXPECT_EQ(ask(step(true)), "T05thread:1;");
    EXPECT_EQ(ask(ReadRegisters{}), states[size_t(i)]) << "back to step " << i;
  }
  EXPECT_EQ(ask(step(true)), "T05thread:1;replaylog:begin;");
  EXPECT_EQ(ask(QueryHaltReason{}), "T05thread:1;replaylog:begin;");
}

TEST_F(GdbServerTest, BreakpointsStopContinues) {
  for (int i = 0; i < 5; ++i)
    ask(step());
  const uint64_t target = read("rip");
  for (int i = 0; i < 5; ++i)
    ask(step(true));
  ASSERT_NE(read("rip"), target);
  EXPECT_EQ(ask(SetPoint{true, PointType::kSoftware, target, 1}), "OK");
  EXPECT_EQ(ask(resume()), "T05thread:1;swbreak:;");
  EXPECT_EQ(read("rip"), target);
  EXPECT_EQ(ask(SetPoint{false, PointType::kSoftware, target, 1}), "OK");
  EXPECT_EQ(ask(SetPoint{false, PointType::kSoftware, target, 1}), "E01"); // not there any more
  EXPECT_EQ(ask(SetPoint{true, PointType::kWrite, 0x1000, 3}), "E01");     // no 3-byte watch
  EXPECT_EQ(ask(resume()), "W01");
  EXPECT_EQ(serial_, "PIT in long mode: 20 ticks\n");
}

TEST_F(GdbServerTest, VContPicksTheActionForTheVcpu) {
  const uint64_t rip = read("rip");
  ResumeAction other;
  other.thread = 2;
  EXPECT_EQ(ask(VCont{{other}}), "E01");
  ResumeAction step_ours;
  step_ours.step = true;
  step_ours.thread = 1;
  EXPECT_EQ(ask(VCont{{step_ours, ResumeAction{}}}), "T05thread:1;");
  EXPECT_NE(read("rip"), rip);
  EXPECT_EQ(ask(QueryVCont{}), "vCont;c;C;s;S");
}

TEST_F(GdbServerTest, ReadsAndWritesMemory) {
  const uint64_t rip = read("rip");
  const std::string code = ask(ReadMemory{rip, 4});
  ASSERT_EQ(code.size(), 8u) << code;
  EXPECT_EQ(ask(ReadMemory{rip, 0}), "");
  EXPECT_EQ(ask(ReadMemory{0xffff'ffff'0000'0000, 4}), "E14");
  const uint64_t scratch = 0x10000;
  EXPECT_EQ(ask(WriteMemory{scratch, {0xde, 0xad}}), "OK");
  EXPECT_EQ(ask(ReadMemory{scratch, 2}), "dead");
  EXPECT_EQ(ask(WriteMemory{0xffff'ffff'0000'0000, {1}}), "E14");
}

TEST_F(GdbServerTest, LegitimateRegisterWritesReachTheEngine) {
  EXPECT_EQ(write("rax", 0x1234), "OK");
  EXPECT_EQ(read("rax"), 0x1234u);
  const uint64_t flags = read("eflags");
  EXPECT_EQ(write("eflags", flags ^ 1, 4), "OK"); // CF
  EXPECT_EQ(read("eflags"), flags ^ 1);
  EXPECT_EQ(write("rip", read("rip") + 1), "OK");
  EXPECT_EQ(write("fs_base", 0xffff'8000'0000'0000), "OK");
  EXPECT_EQ(write("ds", 0, 4), "OK");         // a null data selector
  EXPECT_EQ(write("mxcsr", 0x3f80, 4), "OK"); // round down
  EXPECT_EQ(read("mxcsr"), 0x3f80u);
  // gdb writes all registers back with G after a `set var $rbx`: unchanged values pass.
  auto all = from_hex(ask(ReadRegisters{}));
  ASSERT_TRUE(all);
  EXPECT_EQ(ask(WriteRegisters{*all}), "OK");
}

TEST_F(GdbServerTest, ImpossibleRegisterWritesAreRefusedWithAWarning) {
  const std::string before = ask(ReadRegisters{});
  const uint64_t flags = read("eflags");
  struct Case {
    const char* name;
    uint64_t value;
    size_t size;
    const char* warning;
  };
  const Case cases[] = {
      {"eflags", flags | rflags::kVM, 4, "eflags: gdb cannot switch virtual-8086 mode"},
      {"eflags", flags | 1u << 3, 4, "eflags: reserved bits 0x8"},
      {"rip", 0x0000'8000'0000'0000, 8, "rip: non-canonical address 0x800000000000"},
      {"gs_base", 0x1234'5678'9abc'def0, 8, "gs_base: non-canonical"},
      {"cs", 0xfff8, 4, "cs: selector 0xfff8 lies beyond the descriptor table's limit"},
      {"ss", 0, 4, ""}, // a null stack selector is fine in 64-bit mode: the case below is not
      {"cs", 0, 4, "cs: a null selector"},
      {"ds", 0x4, 4, "ds: selector 0x4 points into an LDT"},
      {"cr0", read("cr0") | 1u << 6, 8, "cr0: reserved bits 0x40"},
      {"cr0", read("cr0") & ~cr0::kPG, 8, "cr0: gdb cannot switch protection or paging"},
      {"cr4", read("cr4") & ~cr4::kPAE, 8, "cr4: gdb cannot change the paging mode"},
      {"efer", read("efer") & ~efer::kLMA, 8, "efer: gdb cannot switch long mode"},
      {"efer", read("efer") | 1u << 2, 8, "efer: reserved bits 0x4"},
      {"cr3", read("cr3") | 1ull << 63, 8, "cr3: reserved bits 0x8000000000000000"},
      {"cr8", 16, 8, "cr8: reserved bits 0x10"},
      {"mxcsr", 0x11f80, 4, "mxcsr: reserved bits 0x10000"},
  };
  for (const Case& c : cases) {
    testing::internal::CaptureStderr();
    const std::string reply = write(c.name, c.value, c.size);
    const std::string err = testing::internal::GetCapturedStderr();
    if (!*c.warning) {
      EXPECT_EQ(reply, "OK") << c.name;
      EXPECT_EQ(write(c.name, 0x10, c.size), "OK"); // back to the loader's selector
      continue;
    }
    EXPECT_EQ(reply, "E16") << c.name << " " << c.value;
    EXPECT_NE(err.find(std::string("rrvm: refused gdb's register write: ") + c.warning),
              std::string::npos)
        << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  }
  EXPECT_EQ(ask(ReadRegisters{}), ask(ReadRegisters{}));
  // The writes that passed put everything back: nothing refused reached the engine.
  EXPECT_EQ(ask(ReadRegisters{}), before);
  // And the replay goes on as recorded.
  EXPECT_EQ(ask(resume()), "W01");
}

// `c ADDR` and `s ADDR` move rip as a register write does, and are checked the same way.
TEST_F(GdbServerTest, ResumingAtAnAddressIsCheckedLikeARegisterWrite) {
  ResumeAction at;
  at.step = true;
  at.address = 0x0000'8000'0000'0000;
  testing::internal::CaptureStderr();
  EXPECT_EQ(ask(Resume{at}), "E16");
  EXPECT_NE(testing::internal::GetCapturedStderr().find("rip: non-canonical"), std::string::npos);
  at.address = read("rip");
  EXPECT_EQ(ask(Resume{at}), "T05thread:1;");
  EXPECT_NE(read("rip"), *at.address);
}

// pit_long's tick counter, from the `cmp dword [rel ticks], 20` after the HLT of its main loop.
uint64_t ticks_address(GdbServerTest& t, uint64_t rip) {
  auto code = from_hex(t.ask(ReadMemory{rip, 256}));
  const uint8_t pattern[] = {0xf4, 0x83, 0x3d};
  auto at = std::search(code->begin(), code->end(), std::begin(pattern), std::end(pattern));
  EXPECT_NE(at, code->end());
  const uint64_t cmp = rip + uint64_t(at - code->begin()) + 1;
  int32_t displacement = 0;
  std::memcpy(&displacement, &*(at + 3), 4);
  return cmp + 7 + uint64_t(int64_t(displacement));
}

TEST_F(GdbServerTest, AChangedGuestDivergesAndSaysSoOnTheConsoleOnly) {
  testing::internal::CaptureStderr();
  // Twenty ticks already: the guest ends at its first tick, the trace holds nineteen more.
  EXPECT_EQ(ask(WriteMemory{ticks_address(*this, read("rip")), {20, 0, 0, 0}}), "OK");
  EXPECT_EQ(ask(resume()), "X06");
  EXPECT_EQ(ask(resume()), "X06"); // the replay cannot go on
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(peer_.console.find("warning: gdb changed the guest's registers or memory"),
            std::string::npos);
  EXPECT_NE(peer_.console.find("rrvm: replay diverged"), std::string::npos) << peer_.console;
  // stderr has the change, and not the divergence: serve_gdb reports that once, at the end.
  EXPECT_NE(err.find("gdb changed the guest's memory"), std::string::npos) << err;
  EXPECT_EQ(err.find("diverged"), std::string::npos) << err;
  ASSERT_TRUE(controller_->final_stop());
  EXPECT_EQ(controller_->final_stop()->kind, Stop::Kind::kFailed);
}

TEST_F(GdbServerTest, QueriesAndSession) {
  const std::string supported = ask(QuerySupported{{"swbreak+"}});
  for (const char* feature : {"PacketSize=4000", "qXfer:features:read+", "swbreak+", "hwbreak+",
                              "ReverseStep+", "ReverseContinue+", "QStartNoAckMode+"})
    EXPECT_NE(supported.find(feature), std::string::npos) << supported;
  const std::string first = ask(ReadFeatures{"target.xml", 0, 16});
  EXPECT_EQ(first, "m<?xml version=\"1");
  std::string xml;
  for (std::string chunk = first; !chunk.empty();
       chunk = ask(ReadFeatures{"target.xml", xml.size(), 100})) {
    xml += chunk.substr(1);
    if (chunk[0] == 'l') break;
  }
  EXPECT_NE(xml.find("</target>"), std::string::npos);
  EXPECT_EQ(ask(ReadFeatures{"target.xml", xml.size(), 100}), "l");
  EXPECT_EQ(ask(ReadFeatures{"other.xml", 0, 100}), "E00");
  EXPECT_EQ(ask(ReadFeatures{"target.xml", 1, UINT64_MAX}), "l" + xml.substr(1));
  EXPECT_EQ(ask(ThreadList{true}), "m1");
  EXPECT_EQ(ask(ThreadList{false}), "l");
  EXPECT_EQ(ask(CurrentThread{}), "QC1");
  EXPECT_EQ(ask(Attached{}), "1");
  EXPECT_EQ(ask(ThreadExtraInfo{1}), to_hex(std::string_view("vCPU 0")));
  EXPECT_EQ(ask(Symbol{}), "OK");
  EXPECT_EQ(ask(SelectThread{'g', 0}), "OK");
  EXPECT_EQ(ask(SelectThread{'c', kAllThreads}), "OK");
  EXPECT_EQ(ask(SelectThread{'g', 2}), "E01");
  EXPECT_EQ(ask(ThreadAlive{1}), "OK");
  EXPECT_EQ(ask(ThreadAlive{2}), "E01");
  EXPECT_EQ(ask(StartNoAckMode{}), "OK");
  EXPECT_EQ(ask(Malformed{}), "E01");
  EXPECT_EQ(ask(Unsupported{}), "");
  EXPECT_EQ(ask(Interrupt{}), "<no reply>");
  auto when = from_hex(ask(Monitor{"when"}));
  ASSERT_TRUE(when);
  EXPECT_EQ(std::string(when->begin(), when->end()).rfind("instruction 0, trace event 0 of ", 0),
            0u);
  EXPECT_FALSE(server_->ended());
  EXPECT_EQ(ask(Kill{false}), "<no reply>");
  EXPECT_EQ(server_->ended(), GdbServer::End::kKilled);
}

TEST_F(GdbServerTest, DetachAndVKillAreAcknowledged) {
  EXPECT_EQ(ask(Detach{}), "OK");
  EXPECT_EQ(server_->ended(), GdbServer::End::kDetached);
  EXPECT_EQ(ask(Kill{true}), "OK");
  EXPECT_EQ(server_->ended(), GdbServer::End::kKilled);
}

} // namespace
} // namespace rrvm::gdb
