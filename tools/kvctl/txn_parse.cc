#include "txn_parse.h"

#include <charconv>
#include <cstdio>
#include <istream>
#include <ostream>

namespace ringkv::kvctl {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses a double-quoted string at line[*pos] (the opening quote), unescaping.
Result<std::string> Quoted(std::string_view line, size_t* pos) {
  std::string out;
  size_t i = *pos + 1;
  while (i < line.size() && line[i] != '"') {
    char c = line[i++];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (i >= line.size()) break;
    char e = line[i++];
    switch (e) {
      case 'n': out.push_back('\n'); break;
      case 't': out.push_back('\t'); break;
      case 'r': out.push_back('\r'); break;
      case '0': out.push_back('\0'); break;
      case '\\': out.push_back('\\'); break;
      case '"': out.push_back('"'); break;
      case 'x': {
        if (i + 1 >= line.size() || HexDigit(line[i]) < 0 || HexDigit(line[i + 1]) < 0) {
          return Status::InvalidArgument("bad \\x escape in " + std::string(line));
        }
        out.push_back(static_cast<char>(HexDigit(line[i]) * 16 + HexDigit(line[i + 1])));
        i += 2;
        break;
      }
      default:
        return Status::InvalidArgument(std::string("unknown escape \\") + e + " in " +
                                       std::string(line));
    }
  }
  if (i >= line.size()) return Status::InvalidArgument("unterminated quote in " + std::string(line));
  *pos = i + 1;
  return out;
}

Result<uint64_t> Number(std::string_view text, const std::string& what) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty()) {
    return Status::InvalidArgument(what + ": \"" + std::string(text) + "\" is not a number");
  }
  return v;
}

}  // namespace

Result<std::vector<std::string>> SplitWords(std::string_view line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
      ++i;
      continue;
    }
    std::string word;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
      if (line[i] == '"') {
        Result<std::string> q = Quoted(line, &i);
        if (!q.ok()) return q.status();
        word += *q;
      } else {
        word.push_back(line[i++]);
      }
    }
    words.push_back(std::move(word));
  }
  return words;
}

Result<client::Compare> ParseCompare(std::string_view line) {
  // target("key") op "operand"
  const size_t open = line.find('(');
  const size_t close = line.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return Status::InvalidArgument("compare \"" + std::string(line) +
                                   "\": expected target(\"key\") op \"value\"");
  }
  std::string_view target = line.substr(0, open);
  while (!target.empty() && target.front() == ' ') target.remove_prefix(1);
  Result<std::vector<std::string>> key = SplitWords(line.substr(open + 1, close - open - 1));
  if (!key.ok()) return key.status();
  if (key->size() != 1) return Status::InvalidArgument("compare \"" + std::string(line) + "\": one key");
  Result<std::vector<std::string>> rest = SplitWords(line.substr(close + 1));
  if (!rest.ok()) return rest.status();
  if (rest->size() != 2) {
    return Status::InvalidArgument("compare \"" + std::string(line) +
                                   "\": expected an operator (= != > <) and a quoted operand");
  }
  client::Compare c;
  c.key = (*key)[0];
  const std::string& op = (*rest)[0];
  if (op == "=" || op == "==") {
    c.op = client::Compare::Op::kEqual;
  } else if (op == "!=") {
    c.op = client::Compare::Op::kNotEqual;
  } else if (op == ">") {
    c.op = client::Compare::Op::kGreater;
  } else if (op == "<") {
    c.op = client::Compare::Op::kLess;
  } else {
    return Status::InvalidArgument("compare \"" + std::string(line) + "\": unknown operator " + op);
  }
  const std::string& operand = (*rest)[1];
  if (target == "mod" || target == "m" || target == "version" || target == "ver") {
    c.target = client::Compare::Target::kVersion;
    Result<uint64_t> v = Number(operand, "version");
    if (!v.ok()) return v.status();
    c.version = *v;
  } else if (target == "value" || target == "val") {
    c.target = client::Compare::Target::kValue;
    c.value = operand;
  } else if (target == "lease") {
    c.target = client::Compare::Target::kLease;
    Result<uint64_t> id = operand == "0" ? Result<uint64_t>(uint64_t{0}) : ParseLeaseId(operand);
    if (!id.ok()) return id.status();
    c.lease = *id;
  } else if (target == "create" || target == "c") {
    return Status::InvalidArgument(
        "compare \"" + std::string(line) +
        "\": RingKV keeps no create version; use version(\"key\") = \"0\" for absence");
  } else {
    return Status::InvalidArgument("compare \"" + std::string(line) + "\": unknown target \"" +
                                   std::string(target) + "\" (mod, version, value, lease)");
  }
  return c;
}

Result<client::TxnOp> ParseTxnOp(std::string_view line) {
  Result<std::vector<std::string>> words = SplitWords(line);
  if (!words.ok()) return words.status();
  const std::vector<std::string>& w = *words;
  auto usage = [&](const std::string& why) {
    return Status::InvalidArgument("operation \"" + std::string(line) + "\": " + why);
  };
  if (w.empty()) return usage("empty");
  if (w[0] == "get") {
    if (w.size() != 2) return usage("expected get <key>");
    return client::TxnOp::Get(w[1]);
  }
  if (w[0] == "del" || w[0] == "delete") {
    if (w.size() != 2) return usage("expected del <key>");
    return client::TxnOp::Delete(w[1]);
  }
  if (w[0] == "put") {
    uint64_t lease = 0;
    std::vector<std::string> args;
    for (size_t i = 1; i < w.size(); ++i) {
      if (w[i].rfind("--lease=", 0) == 0) {
        Result<uint64_t> id = ParseLeaseId(w[i].substr(8));
        if (!id.ok()) return id.status();
        lease = *id;
      } else {
        args.push_back(w[i]);
      }
    }
    if (args.size() != 2) return usage("expected put <key> <value> [--lease=<id>]");
    return client::TxnOp::Put(args[0], args[1], lease);
  }
  return usage("unknown operation " + w[0] + " (get, put, del)");
}

Result<client::Txn> ParseTxn(std::istream& in, std::ostream* prompts) {
  client::Txn txn;
  static const char* const kPrompts[] = {"compares:", "success requests (get, put, del):",
                                         "failure requests (get, put, del):"};
  std::string line;
  for (int part = 0; part < 3; ++part) {
    if (prompts != nullptr) *prompts << kPrompts[part] << "\n" << std::flush;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) break;
      if (part == 0) {
        Result<client::Compare> c = ParseCompare(line);
        if (!c.ok()) return c.status();
        txn.compare.push_back(std::move(*c));
      } else {
        Result<client::TxnOp> op = ParseTxnOp(line);
        if (!op.ok()) return op.status();
        (part == 1 ? txn.success : txn.failure).push_back(std::move(*op));
      }
    }
    if (prompts != nullptr) *prompts << "\n";
  }
  return txn;
}

Result<uint64_t> ParseLeaseId(std::string_view text) {
  if (text.rfind("0x", 0) == 0) text.remove_prefix(2);
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 16);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty() || v == 0) {
    return Status::InvalidArgument("\"" + std::string(text) +
                                   "\" is not a lease id (hex, as `kvctl lease grant` prints it)");
  }
  return v;
}

std::string FormatLeaseId(uint64_t id) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

}  // namespace ringkv::kvctl
