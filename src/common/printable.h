// A key (arbitrary bytes) for an error or log message: printable ASCII as it is, quotes,
// backslashes and other bytes as \xNN, at most 64 bytes then "...".
#ifndef RINGKV_COMMON_PRINTABLE_H_
#define RINGKV_COMMON_PRINTABLE_H_

#include <cstdio>
#include <string>
#include <string_view>

namespace ringkv {

inline std::string PrintableKey(std::string_view key) {
  std::string out;
  for (size_t i = 0; i < key.size() && i < 64; ++i) {
    const unsigned char c = static_cast<unsigned char>(key[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[5];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  if (key.size() > 64) out += "...";
  return out;
}

}  // namespace ringkv

#endif  // RINGKV_COMMON_PRINTABLE_H_
