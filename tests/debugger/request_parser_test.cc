// gdb packet payloads into typed requests: every request type, and malformed input answered as
// Malformed or Unsupported.
#include <gtest/gtest.h>
#include <set>

#include "debugger/request_parser.h"

namespace rrvm::gdb {
namespace {

using namespace request;

template <typename T> T as(std::string_view payload) {
  const Request r = parse_request(payload);
  EXPECT_TRUE(std::holds_alternative<T>(r)) << payload << " parsed as alternative " << r.index();
  return std::holds_alternative<T>(r) ? std::get<T>(r) : T{};
}

bool malformed(std::string_view payload) {
  return std::holds_alternative<Malformed>(parse_request(payload));
}

bool unsupported(std::string_view payload) {
  return std::holds_alternative<Unsupported>(parse_request(payload));
}

TEST(RequestParser, Registers) {
  as<QueryHaltReason>("?");
  as<ReadRegisters>("g");
  EXPECT_EQ(as<WriteRegisters>("G0102ff").bytes, (std::vector<uint8_t>{1, 2, 0xff}));
  EXPECT_EQ(as<ReadRegister>("p1a").number, 0x1au);
  const WriteRegister w = as<WriteRegister>("P11=02020000");
  EXPECT_EQ(w.number, 0x11u);
  EXPECT_EQ(w.bytes, (std::vector<uint8_t>{2, 2, 0, 0}));
}

TEST(RequestParser, Memory) {
  const ReadMemory m = as<ReadMemory>("mffff8000,40");
  EXPECT_EQ(m.address, 0xffff8000u);
  EXPECT_EQ(m.length, 0x40u);
  const WriteMemory w = as<WriteMemory>("M1000,2:abcd");
  EXPECT_EQ(w.address, 0x1000u);
  EXPECT_EQ(w.data, (std::vector<uint8_t>{0xab, 0xcd}));
  // X carries raw bytes (the framing already unescaped them), ':' and ',' included.
  const WriteMemory x = as<WriteMemory>(std::string_view("X20,3:a:\0", 9));
  EXPECT_EQ(x.data, (std::vector<uint8_t>{'a', ':', 0}));
  EXPECT_TRUE(as<WriteMemory>("X20,0:").data.empty());
}

TEST(RequestParser, BreakpointsAndWatchpoints) {
  const SetPoint b = as<SetPoint>("Z0,401000,1");
  EXPECT_TRUE(b.insert);
  EXPECT_EQ(b.type, PointType::kSoftware);
  EXPECT_EQ(b.address, 0x401000u);
  EXPECT_EQ(b.kind, 1u);
  EXPECT_EQ(as<SetPoint>("z1,10,1").type, PointType::kHardware);
  EXPECT_FALSE(as<SetPoint>("z1,10,1").insert);
  EXPECT_EQ(as<SetPoint>("Z2,10,4").type, PointType::kWrite);
  EXPECT_EQ(as<SetPoint>("Z3,10,8").type, PointType::kRead);
  const SetPoint a = as<SetPoint>("Z4,10,2;X1,0f");
  EXPECT_EQ(a.type, PointType::kAccess);
  EXPECT_EQ(a.kind, 2u); // gdb's condition after ';' is gdb's business
}

TEST(RequestParser, Resumes) {
  ResumeAction c = as<Resume>("c").action;
  EXPECT_FALSE(c.step || c.reverse || c.signal || c.address);
  EXPECT_EQ(as<Resume>("c401000").action.address, 0x401000u);
  EXPECT_TRUE(as<Resume>("s").action.step);
  ResumeAction signal = as<Resume>("C0b;1234").action;
  EXPECT_EQ(signal.signal, 0x0b);
  EXPECT_EQ(signal.address, 0x1234u);
  EXPECT_FALSE(signal.step);
  EXPECT_EQ(as<Resume>("S05").action.signal, 5);
  EXPECT_TRUE(as<Resume>("S05").action.step);
  ResumeAction back = as<Resume>("bc").action;
  EXPECT_TRUE(back.reverse);
  EXPECT_FALSE(back.step);
  EXPECT_TRUE(as<Resume>("bs").action.reverse && as<Resume>("bs").action.step);
}

TEST(RequestParser, VCont) {
  as<QueryVCont>("vCont?");
  const VCont v = as<VCont>("vCont;s:1;c");
  ASSERT_EQ(v.actions.size(), 2u);
  EXPECT_TRUE(v.actions[0].step);
  EXPECT_EQ(v.actions[0].thread, 1);
  EXPECT_FALSE(v.actions[1].step);
  EXPECT_EQ(v.actions[1].thread, kAllThreads);
  const VCont signal = as<VCont>("vCont;C0e:-1");
  ASSERT_EQ(signal.actions.size(), 1u);
  EXPECT_EQ(signal.actions[0].signal, 0x0e);
  EXPECT_EQ(signal.actions[0].thread, kAllThreads);
}

TEST(RequestParser, Queries) {
  const QuerySupported s =
      as<QuerySupported>("qSupported:multiprocess+;swbreak+;xmlRegisters=i386");
  EXPECT_EQ(s.features,
            (std::vector<std::string>{"multiprocess+", "swbreak+", "xmlRegisters=i386"}));
  EXPECT_TRUE(as<QuerySupported>("qSupported").features.empty());
  as<StartNoAckMode>("QStartNoAckMode");
  const ReadFeatures f = as<ReadFeatures>("qXfer:features:read:target.xml:0,ffb");
  EXPECT_EQ(f.annex, "target.xml");
  EXPECT_EQ(f.offset, 0u);
  EXPECT_EQ(f.length, 0xffbu);
  EXPECT_TRUE(as<ThreadList>("qfThreadInfo").first);
  EXPECT_FALSE(as<ThreadList>("qsThreadInfo").first);
  as<CurrentThread>("qC");
  as<Attached>("qAttached");
  as<Attached>("qAttached:1");
  EXPECT_EQ(as<ThreadExtraInfo>("qThreadExtraInfo,1").thread, 1);
  as<Symbol>("qSymbol::");
  EXPECT_EQ(as<Monitor>("qRcmd,676f746f203130").command, "goto 10");
}

TEST(RequestParser, ThreadsAndSession) {
  const SelectThread h = as<SelectThread>("Hg0");
  EXPECT_EQ(h.operation, 'g');
  EXPECT_EQ(h.thread, kAnyThread);
  EXPECT_EQ(as<SelectThread>("Hc-1").thread, kAllThreads);
  EXPECT_EQ(as<ThreadAlive>("T01").thread, 1);
  as<Detach>("D");
  as<Detach>("D;1");
  EXPECT_FALSE(as<Kill>("k").acknowledged);
  EXPECT_TRUE(as<Kill>("vKill;1").acknowledged);
}

TEST(RequestParser, MalformedArgumentsAreMalformed) {
  for (std::string_view p : {"gx",
                             "?x",
                             "G0",
                             "Gzz",
                             "p",
                             "pzz",
                             "P",
                             "P11",
                             "P11=0",
                             "Pzz=00",
                             "m",
                             "m10",
                             "mzz,4",
                             "m10,",
                             "m,4",
                             "m10000000000000000,1",
                             "M1000,2:1",
                             "M1000,2:abcdef",
                             "M1000,2",
                             "Mzz,2:abcd",
                             "X10,2:a",
                             "X10",
                             "Z0",
                             "Z0,",
                             "Z0,10",
                             "Z010,1",
                             "Z0,zz,1",
                             "cz",
                             "s-1",
                             "C",
                             "Cz",
                             "C5",
                             "C05;",
                             "C05;zz",
                             "S",
                             "vCont;",
                             "vCont;x",
                             "vCont;c:zz",
                             "vCont;C",
                             "vCont;s;",
                             "H",
                             "Hgzz",
                             "T",
                             "Tzz",
                             "kk",
                             "Dx",
                             "qXfer:features:read:target.xml",
                             "qXfer:features:read:target.xml:0",
                             "qThreadExtraInfo,zz",
                             "qRcmd,6",
                             "qRcmd,zz"})
    EXPECT_TRUE(malformed(p)) << p;
}

TEST(RequestParser, UnknownRequestsAreUnsupported) {
  for (std::string_view p : {"", "vMustReplyEmpty", "vFrobnicate", "Z5,10,1", "Z9,1000,1", "z",
                             "bx", "qTStatus", "QNonStop:1", "qSupportedx", "!", "i", "\x03"})
    EXPECT_TRUE(unsupported(p)) << p;
}

// The examples above reach every request type (Interrupt comes from the framing, not a payload).
TEST(RequestParser, EveryRequestTypeIsParsed) {
  std::set<size_t> seen = {Request(Interrupt{}).index()};
  for (std::string_view p : {"?",
                             "g",
                             "G00",
                             "p0",
                             "P0=00",
                             "m0,1",
                             "M0,1:00",
                             "Z0,0,1",
                             "c",
                             "vCont;c",
                             "vCont?",
                             "qSupported",
                             "QStartNoAckMode",
                             "qXfer:features:read:target.xml:0,1",
                             "qfThreadInfo",
                             "qC",
                             "qAttached",
                             "qThreadExtraInfo,1",
                             "qSymbol::",
                             "qRcmd,00",
                             "Hg0",
                             "T1",
                             "D",
                             "k",
                             "m",
                             ""})
    seen.insert(parse_request(p).index());
  EXPECT_EQ(seen.size(), std::variant_size_v<Request>);
}

} // namespace
} // namespace rrvm::gdb
