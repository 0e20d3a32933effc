#include "debugger/target_description.h"

#include <sstream>
#include <string_view>

namespace rrvm::gdb {

namespace {

// gdb shows eflags by flag name when the description defines the flags type.
constexpr const char* kEflagsType = R"(<flags id="i386_eflags" size="4">
  <field name="CF" start="0" end="0"/>
  <field name="" start="1" end="1"/>
  <field name="PF" start="2" end="2"/>
  <field name="AF" start="4" end="4"/>
  <field name="ZF" start="6" end="6"/>
  <field name="SF" start="7" end="7"/>
  <field name="TF" start="8" end="8"/>
  <field name="IF" start="9" end="9"/>
  <field name="DF" start="10" end="10"/>
  <field name="OF" start="11" end="11"/>
  <field name="NT" start="14" end="14"/>
  <field name="RF" start="16" end="16"/>
  <field name="VM" start="17" end="17"/>
  <field name="AC" start="18" end="18"/>
  <field name="VIF" start="19" end="19"/>
  <field name="VIP" start="20" end="20"/>
  <field name="ID" start="21" end="21"/>
</flags>
)";

// The types gdb's own 64bit-sse.xml/32bit-sse.xml define for the SSE feature.
constexpr const char* kSseTypes = R"(<vector id="v4f" type="ieee_single" count="4"/>
<vector id="v2d" type="ieee_double" count="2"/>
<vector id="v16i8" type="int8" count="16"/>
<vector id="v8i16" type="int16" count="8"/>
<vector id="v4i32" type="int32" count="4"/>
<vector id="v2i64" type="int64" count="2"/>
<union id="vec128">
  <field name="v4_float" type="v4f"/>
  <field name="v2_double" type="v2d"/>
  <field name="v16_int8" type="v16i8"/>
  <field name="v8_int16" type="v8i16"/>
  <field name="v4_int32" type="v4i32"/>
  <field name="v2_int64" type="v2i64"/>
  <field name="uint128" type="uint128"/>
</union>
<flags id="i386_mxcsr" size="4">
  <field name="IE" start="0" end="0"/>
  <field name="DE" start="1" end="1"/>
  <field name="ZE" start="2" end="2"/>
  <field name="OE" start="3" end="3"/>
  <field name="UE" start="4" end="4"/>
  <field name="PE" start="5" end="5"/>
  <field name="DAZ" start="6" end="6"/>
  <field name="IM" start="7" end="7"/>
  <field name="DM" start="8" end="8"/>
  <field name="ZM" start="9" end="9"/>
  <field name="OM" start="10" end="10"/>
  <field name="UM" start="11" end="11"/>
  <field name="PM" start="12" end="12"/>
  <field name="FZ" start="15" end="15"/>
</flags>
)";

} // namespace

std::string target_description_xml(const RegisterMap& map) {
  std::ostringstream xml;
  xml << "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target>\n"
      << "<architecture>" << (map.x86_64() ? "i386:x86-64" : "i386") << "</architecture>\n";
  const char* open_feature = nullptr;
  const auto& regs = map.registers();
  for (size_t i = 0; i < regs.size(); ++i) {
    const RegisterInfo& r = regs[i];
    if (r.feature != open_feature) {
      if (open_feature) xml << "</feature>\n";
      open_feature = r.feature;
      xml << "<feature name=\"" << r.feature << "\">\n";
      if (i == 0) xml << kEflagsType;
      if (std::string_view(r.feature) == "org.gnu.gdb.i386.sse") xml << kSseTypes;
    }
    xml << "<reg name=\"" << r.name << "\" bitsize=\"" << r.bits << "\" type=\"" << r.type
        << "\" regnum=\"" << i << "\"";
    if (r.group) xml << " group=\"" << r.group << "\"";
    xml << "/>\n";
  }
  if (open_feature) xml << "</feature>\n";
  xml << "</target>\n";
  return xml.str();
}

} // namespace rrvm::gdb
