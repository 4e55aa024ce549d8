// Byte-safe output for kvctl (shared/ux.md "Bytes on the terminal"): keys and values are
// arbitrary bytes, so every output format says how it shows them.
//   simple/table: printable text as-is (ASCII and valid UTF-8), anything else escaped
//                 (\n \t \r \\ and \xNN), so a terminal is never garbled and bytes stay visible;
//   --hex:        every byte as two lowercase hex digits;
//   json:         "key": "<utf8>" when the bytes are valid UTF-8, else "key_b64": "<base64>";
//   --print-value-only: raw bytes (callers write them unmodified).
// Also the small parsers kvctl's flags need (durations, prefix ranges) and table rendering.
//
// Thread-safety: pure functions.
#ifndef RINGKV_TOOLS_KVCTL_FORMAT_H_
#define RINGKV_TOOLS_KVCTL_FORMAT_H_

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace ringkv::kvctl {

// Escaped form for simple/table output. Backslash is escaped too, so the form is unambiguous.
std::string Escape(std::string_view bytes);
// Lowercase hex of every byte ("" for empty).
std::string Hex(std::string_view bytes);
// Escape or Hex, by flag.
std::string Show(std::string_view bytes, bool hex);
bool IsValidUtf8(std::string_view bytes);
// Standard base64 with padding (RFC 4648).
std::string Base64(std::string_view bytes);
// Sets obj[name] to the UTF-8 string, or obj[name + "_b64"] to base64 when not valid UTF-8.
void SetBytes(nlohmann::json& obj, const std::string& name, std::string_view bytes);

// An ASCII table with a header row, as `etcdctl -w table`:
// +-----+-----+
// | KEY | VAL |
// +-----+-----+
// | a   | 1   |
// +-----+-----+
std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

// The smallest key greater than every key starting with `prefix` ("" = no upper bound, when the
// prefix is empty or all 0xff).
std::string PrefixEnd(std::string_view prefix);

// "2s", "500ms", "1.5s", "1m", "1h"; a bare number means seconds.
// InvalidArgument for anything else or a negative value.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

}  // namespace ringkv::kvctl

#endif  // RINGKV_TOOLS_KVCTL_FORMAT_H_
