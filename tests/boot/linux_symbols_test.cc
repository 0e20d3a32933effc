// tools/linux-symbols.py: a System.map, or the kallsyms tables of Debian's stock kernel, become
// an ELF whose symbols the real gdb names by address and finds by name.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

#include "tests/boot/stock_kernel.h"
#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

const std::string kTool = RRVM_SOURCE_DIR "/tools/linux-symbols.py";

bool have_gdb() {
  return run_process({"gdb", "--version"}).status == 0;
}

// gdb's answers to `commands` about the symbols in `elf`, without a target.
std::string gdb_on(const std::string& elf, const std::string& commands) {
  const std::string script = unique_temp_path("symbols.gdb");
  std::ofstream(script) << "set pagination off\nsymbol-file " << elf << "\n" << commands;
  const ProcessResult r = run_process({"gdb", "-batch", "-nx", "-x", script}, 120);
  std::filesystem::remove(script);
  return r.out + r.err;
}

std::string write_file(const std::string& name, const std::string& content) {
  const std::string path = unique_temp_path(name);
  std::ofstream(path) << content;
  return path;
}

// A map as the kernel's build writes one: code, a weak function, data, a per-CPU absolute
// symbol, and init code far above the rest.
constexpr const char* kMap = "0000000000000000 A fixed_percpu_data\n"
                             "ffffffff81000000 T _text\n"
                             "ffffffff81000000 T startup_64\n"
                             "ffffffff81000100 t helper\n"
                             "ffffffff81000180 W weak_hook\n"
                             "ffffffff81000200 T _etext\n"
                             "ffffffff82000000 D jiffies\n"
                             "ffffffff82000040 d local_counter\n"
                             "ffffffff82000100 B _end\n"
                             "ffffffff83000000 T start_kernel\n"
                             "ffffffff83000400 T _einittext\n";

TEST(LinuxSymbolsTest, SystemMapSymbolsReachGdbWithTheirAddressesSizesAndKinds) {
  if (!have_gdb()) GTEST_SKIP() << "no gdb";
  const std::string map = write_file("System.map", kMap);
  const std::string elf = unique_temp_path("symbols.elf");
  const ProcessResult made = run_process({"python3", kTool, map, elf});
  ASSERT_EQ(made.status, 0) << made.err;
  const std::string out = gdb_on(elf, "info symbol 0xffffffff81000000\n"
                                      "info symbol 0xffffffff810000ff\n"
                                      "info symbol 0xffffffff81000100\n"
                                      "info symbol 0xffffffff810001a0\n"
                                      "info symbol 0xffffffff82000044\n"
                                      "info symbol 0xffffffff830003ff\n"
                                      "info address start_kernel\n"
                                      "info address jiffies\n"
                                      "ptype helper\nptype local_counter\n");
  EXPECT_NE(out.find("startup_64 in section .text\n"), std::string::npos) << out;
  // Sizes run to the next symbol.
  EXPECT_NE(out.find("startup_64 + 255 in section .text\n"), std::string::npos) << out;
  EXPECT_NE(out.find("helper in section .text\n"), std::string::npos) << out;
  EXPECT_NE(out.find("weak_hook + 32 in section .text\n"), std::string::npos) << out;
  EXPECT_NE(out.find("local_counter + 4 in section .data\n"), std::string::npos) << out;
  EXPECT_NE(out.find("start_kernel + 1023 in section .text.2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Symbol \"start_kernel\" is at 0xffffffff83000000"), std::string::npos) << out;
  EXPECT_NE(out.find("Symbol \"jiffies\" is at 0xffffffff82000000"), std::string::npos) << out;
  // Functions and objects.
  EXPECT_NE(out.find("type = <unknown return type> ()"), std::string::npos) << out;
  EXPECT_NE(out.find("type = <data variable, no debug info>"), std::string::npos) << out;

  const std::string again = unique_temp_path("again.elf");
  ASSERT_EQ(run_process({"python3", kTool, map, again}).status, 0);
  EXPECT_EQ(read_file(again), read_file(elf)) << "the output is not deterministic";
  for (const std::string& path : {map, elf, again})
    std::filesystem::remove(path);
}

TEST(LinuxSymbolsTest, BadInputGetsOneLineAndItsOwnStatus) {
  const std::string elf = unique_temp_path("bad.elf");
  struct Case {
    std::string content;
    int status;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"ffffffff81000000 T startup_64\nnot a symbol line\n", 65, ":2: expected"},
      {"zzzz T startup_64\n", 65, "is not a 64-bit hex address"},
      {"ffffffff81000000 ? startup_64\n", 65, "unknown symbol type"},
      // Debian's /boot/System.map-*: the real one is in the -dbg package.
      {"ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n", 67,
       "is a placeholder"},
      {"ffffffff82000000 D jiffies\n", 67, "no text symbols"},
      {"0000000000000000 T startup_64\n0000000000000000 t helper\n", 67, "every address is 0"},
  };
  for (const Case& c : cases) {
    const std::string map = write_file("bad.map", c.content);
    const ProcessResult r = run_process({"python3", kTool, map, elf});
    EXPECT_EQ(r.status, c.status) << c.content << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(std::filesystem::exists(elf));
    std::filesystem::remove(map);
  }
  const ProcessResult missing = run_process({"python3", kTool, "/nonexistent/System.map", elf});
  EXPECT_EQ(missing.status, 66);
  EXPECT_NE(missing.err.find("cannot read /nonexistent/System.map"), std::string::npos);
  EXPECT_EQ(run_process({"python3", kTool, "only-one-argument"}).status, 64);
}

// Debian ships no usable System.map (a placeholder), so the symbols come from the kernel's own
// kallsyms tables. rrvm enters startup_64 at the start of the kernel's text, 16 MiB into the
// -2 GiB kernel map (CONFIG_PHYSICAL_START), which checks the decoding from outside the tables.
TEST(LinuxSymbolsTest, StockKernelSymbolsComeFromItsKallsymsTables) {
  const std::string kernel = stock_kernel_or_fail();
  if (kernel.empty()) GTEST_SKIP() << "Debian's kernel is not fetched (tools/fetch-linux.sh)";
  if (!have_gdb()) GTEST_SKIP() << "no gdb";
  const std::string elf = unique_temp_path("vmlinux-symbols.elf");
  const std::string map = unique_temp_path("System.map");
  ProcessResult made = run_process({"python3", kTool, kernel, elf}, 240);
  ASSERT_EQ(made.status, 0) << made.err;
  made = run_process({"python3", kTool, "--system-map", kernel, map}, 240);
  ASSERT_EQ(made.status, 0) << made.err;

  const std::string listed = read_file(map);
  auto address_of = [&](const std::string& name) {
    std::istringstream in(listed);
    for (std::string line; std::getline(in, line);)
      if (line.size() > 19 && line.substr(19) == name) return "0x" + line.substr(0, 16);
    return std::string("(not in the map)");
  };
  EXPECT_EQ(address_of("startup_64"), "0xffffffff81000000");
  EXPECT_GT(std::count(listed.begin(), listed.end(), '\n'), 50000) << "too few symbols";

  const std::string out = gdb_on(elf, "info address start_kernel\ninfo address do_sys_openat2\n"
                                      "info address kernel_init\ninfo address run_init_process\n"
                                      "info symbol startup_64\ninfo symbol do_sys_openat2 + 5\n");
  for (const char* name : {"start_kernel", "do_sys_openat2", "kernel_init", "run_init_process"}) {
    const std::string expected =
        std::string("Symbol \"") + name + "\" is at " + address_of(name) + " in a file";
    EXPECT_NE(out.find(expected), std::string::npos) << expected << "\n" << out;
  }
  EXPECT_NE(out.find("startup_64 in section .text\n"), std::string::npos) << out;
  EXPECT_NE(out.find("do_sys_openat2 + 5 in section .text\n"), std::string::npos) << out;
  std::filesystem::remove(elf);
  std::filesystem::remove(map);
}

} // namespace
} // namespace rrvm::test
