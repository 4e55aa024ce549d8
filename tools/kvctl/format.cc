#include "format.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace ringkv::kvctl {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when invalid (overlongs,
// surrogates and code points above U+10FFFF are invalid).
size_t Utf8SequenceLength(std::string_view s, size_t i, uint32_t* code_point) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n;
  uint32_t cp;
  if (c < 0x80) {
    *code_point = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    n = 2, cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  *code_point = cp;
  return n;
}

void AppendHexByte(std::string* out, unsigned char c) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out->push_back(kDigits[c >> 4]);
  out->push_back(kDigits[c & 0xF]);
}

}  // namespace

std::string Escape(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    switch (c) {
      case '\\': out += "\\\\"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      default: break;
    }
    uint32_t cp = 0;
    const size_t n = Utf8SequenceLength(bytes, i, &cp);
    // Printable: ASCII 0x20..0x7e and non-control Unicode (C1 controls U+0080..U+009F escaped).
    const bool printable = n > 0 && ((cp >= 0x20 && cp < 0x7F) || cp > 0x9F);
    if (printable) {
      out.append(bytes.substr(i, n));
      i += n;
    } else {
      out += "\\x";
      AppendHexByte(&out, c);
      ++i;
    }
  }
  return out;
}

std::string Hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) AppendHexByte(&out, static_cast<unsigned char>(c));
  return out;
}

std::string Show(std::string_view bytes, bool hex) { return hex ? Hex(bytes) : Escape(bytes); }

bool IsValidUtf8(std::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    uint32_t cp;
    const size_t n = Utf8SequenceLength(bytes, i, &cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto u = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (u(i) << 16) | (u(i + 1) << 8) | u(i + 2);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const uint32_t v = u(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    const uint32_t v = (u(i) << 16) | (u(i + 1) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

void SetBytes(nlohmann::json& obj, const std::string& name, std::string_view bytes) {
  if (IsValidUtf8(bytes)) {
    obj[name] = std::string(bytes);
  } else {
    obj[name + "_b64"] = Base64(bytes);
  }
}

std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  // Width in code points would need a UTF-8 walk; cells are escaped, so bytes ~ columns for
  // ASCII, and multi-byte text only widens its own column slightly.
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < header.size() && c < row.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  std::string line = "+";
  for (size_t w : width) line += std::string(w + 2, '-') + "+";
  line += "\n";
  auto render_row = [&](const std::vector<std::string>& row) {
    std::string s = "|";
    for (size_t c = 0; c < width.size(); ++c) {
      const std::string cell = c < row.size() ? row[c] : "";
      s += " " + cell + std::string(width[c] - cell.size(), ' ') + " |";
    }
    return s + "\n";
  };
  std::string out = line + render_row(header) + line;
  for (const auto& row : rows) out += render_row(row);
  if (!rows.empty()) out += line;
  return out;
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char& last = reinterpret_cast<unsigned char&>(end.back());
    if (last != 0xFF) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return end;  // no upper bound
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  const std::string s(text);
  const char* begin = s.c_str();
  char* rest = nullptr;
  const double v = std::strtod(begin, &rest);
  const std::string unit(rest);
  if (rest == begin || !(v >= 0)) {
    return Status::InvalidArgument("bad duration \"" + s + "\" (expected e.g. 500ms, 2s, 1m)");
  }
  double ms;
  if (unit.empty() || unit == "s") {
    ms = v * 1000;
  } else if (unit == "ms") {
    ms = v;
  } else if (unit == "m") {
    ms = v * 60'000;
  } else if (unit == "h") {
    ms = v * 3'600'000;
  } else {
    return Status::InvalidArgument("bad duration \"" + s + "\" (units: ms, s, m, h)");
  }
  return std::chrono::milliseconds(static_cast<int64_t>(ms + 0.5));
}

}  // namespace ringkv::kvctl
