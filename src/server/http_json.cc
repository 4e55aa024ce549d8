#include "server/http_json.h"

#include <charconv>
#include <cstdio>

namespace ringkv::server {
namespace {

using nlohmann::json;

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int B64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

Result<client::Compare> CompareFromJson(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("txn: a compare must be an object");
  Result<std::string> key = GetBytes(j, "key", true);
  if (!key.ok()) return key.status();
  client::Compare c;
  c.key = *key;
  const std::string target = j.value("target", "version");
  const std::string op = j.value("op", "=");
  if (op == "=" || op == "==") {
    c.op = client::Compare::Op::kEqual;
  } else if (op == "!=") {
    c.op = client::Compare::Op::kNotEqual;
  } else if (op == ">") {
    c.op = client::Compare::Op::kGreater;
  } else if (op == "<") {
    c.op = client::Compare::Op::kLess;
  } else {
    return Status::InvalidArgument("txn: unknown compare op \"" + op + "\" (=, !=, >, <)");
  }
  if (target == "version" || target == "mod") {
    c.target = client::Compare::Target::kVersion;
    if (!j.contains("version") || !j["version"].is_number_unsigned()) {
      return Status::InvalidArgument("txn: a version compare needs \"version\": <number>");
    }
    c.version = j["version"].get<uint64_t>();
  } else if (target == "value") {
    c.target = client::Compare::Target::kValue;
    Result<std::string> v = GetBytes(j, "value", true);
    if (!v.ok()) return v.status();
    c.value = *v;
  } else if (target == "lease") {
    c.target = client::Compare::Target::kLease;
    if (!j.contains("lease") || !j["lease"].is_string()) {
      return Status::InvalidArgument("txn: a lease compare needs \"lease\": \"<hex id>\"");
    }
    const std::string id = j["lease"].get<std::string>();
    if (id != "0") {
      Result<uint64_t> l = ParseLeaseHex(id);
      if (!l.ok()) return l.status();
      c.lease = *l;
    }
  } else {
    return Status::InvalidArgument("txn: unknown compare target \"" + target +
                                   "\" (version, value, lease)");
  }
  return c;
}

Result<client::TxnOp> OpFromJson(const json& j) {
  if (!j.is_object() || j.size() != 1) {
    return Status::InvalidArgument(
        "txn: an operation is {\"put\": {...}}, {\"get\": {...}} or {\"delete\": {...}}");
  }
  const std::string kind = j.begin().key();
  const json& body = j.begin().value();
  if (!body.is_object()) return Status::InvalidArgument("txn: " + kind + " needs an object");
  Result<std::string> key = GetBytes(body, "key", true);
  if (!key.ok()) return key.status();
  if (kind == "get") return client::TxnOp::Get(*key);
  if (kind == "delete" || kind == "del") return client::TxnOp::Delete(*key);
  if (kind == "put") {
    Result<std::string> value = GetBytes(body, "value", false);
    if (!value.ok()) return value.status();
    uint64_t lease = 0;
    if (body.contains("lease")) {
      if (!body["lease"].is_string()) return Status::InvalidArgument("txn: \"lease\" is a hex string");
      Result<uint64_t> l = ParseLeaseHex(body["lease"].get<std::string>());
      if (!l.ok()) return l.status();
      lease = *l;
    }
    return client::TxnOp::Put(*key, *value, lease);
  }
  return Status::InvalidArgument("txn: unknown operation \"" + kind + "\" (put, get, delete)");
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  // Strict (no overlongs, surrogates or code points above U+10FFFF), as the JSON writer
  // requires.
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = b(i);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((b(i + k) & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b(i + k) & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

std::string Base64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) |
                       uint8_t(in[i + 2]);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) v |= uint32_t(uint8_t(in[i + 1])) << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < in.size() ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return Status::InvalidArgument("base64 length is not a multiple of 4");
  std::string out;
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0 || (v[k] = B64Value(c)) < 0) {
        return Status::InvalidArgument("invalid base64 character");
      }
    }
    const uint32_t n = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) |
                       uint32_t(v[3]);
    out += char(n >> 16);
    if (pad < 2) out += char((n >> 8) & 0xff);
    if (pad < 1) out += char(n & 0xff);
  }
  return out;
}

void SetBytes(json& obj, const std::string& name, std::string_view bytes) {
  if (IsValidUtf8(bytes)) {
    obj[name] = std::string(bytes);
  } else {
    obj[name + "_b64"] = Base64Encode(bytes);
  }
}

Result<std::string> GetBytes(const json& obj, const std::string& name, bool required) {
  if (obj.contains(name)) {
    if (!obj[name].is_string()) return Status::InvalidArgument("\"" + name + "\" must be a string");
    return obj[name].get<std::string>();
  }
  if (obj.contains(name + "_b64")) {
    if (!obj[name + "_b64"].is_string()) {
      return Status::InvalidArgument("\"" + name + "_b64\" must be a string");
    }
    return Base64Decode(obj[name + "_b64"].get<std::string>());
  }
  if (required) {
    return Status::InvalidArgument("missing \"" + name + "\" (or \"" + name + "_b64\")");
  }
  return std::string();
}

std::string LeaseHex(uint64_t id) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

Result<uint64_t> ParseLeaseHex(std::string_view text) {
  if (text.rfind("0x", 0) == 0) text.remove_prefix(2);
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 16);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty() || v == 0) {
    return Status::InvalidArgument("\"" + std::string(text) + "\" is not a lease id (hex)");
  }
  return v;
}

json KvJson(const client::KeyValue& kv, bool keys_only) {
  json j = json::object();
  SetBytes(j, "key", kv.key);
  if (!keys_only) SetBytes(j, "value", kv.value);
  j["version"] = kv.version;
  if (kv.lease != 0) j["lease"] = LeaseHex(kv.lease);
  return j;
}

json EventJson(const client::WatchEvent& e) {
  const bool put = e.type == client::WatchEvent::Type::kPut;
  json j{{"type", put ? "PUT" : "DELETE"}};
  SetBytes(j, "key", e.key);
  if (put) SetBytes(j, "value", e.value);
  j["version"] = e.version;
  j["prev_version"] = e.prev_version;
  if (e.lease != 0) j["lease"] = LeaseHex(e.lease);
  j["shard"] = e.shard;
  return j;
}

Result<client::Txn> ParseTxnJson(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("txn: the body is not a JSON object");
  }
  client::Txn t;
  if (j.contains("compare")) {
    if (!j["compare"].is_array()) return Status::InvalidArgument("txn: \"compare\" is a list");
    for (const json& c : j["compare"]) {
      Result<client::Compare> cmp = CompareFromJson(c);
      if (!cmp.ok()) return cmp.status();
      t.compare.push_back(std::move(*cmp));
    }
  }
  for (const char* branch : {"success", "failure"}) {
    if (!j.contains(branch)) continue;
    if (!j[branch].is_array()) {
      return Status::InvalidArgument(std::string("txn: \"") + branch + "\" is a list");
    }
    for (const json& o : j[branch]) {
      Result<client::TxnOp> op = OpFromJson(o);
      if (!op.ok()) return op.status();
      (std::string(branch) == "success" ? t.success : t.failure).push_back(std::move(*op));
    }
  }
  return t;
}

json TxnResultJson(const client::TxnResult& r) {
  json results = json::array();
  for (const client::TxnOpResult& op : r.results) {
    switch (op.kind) {
      case client::TxnOp::Kind::kPut:
        results.push_back(json{{"put", {{"version", r.version}}}});
        break;
      case client::TxnOp::Kind::kDelete:
        results.push_back(json{{"delete", {{"deleted", op.deleted}}}});
        break;
      case client::TxnOp::Kind::kGet:
        results.push_back(json{{"get", op.kv ? KvJson(*op.kv) : json(nullptr)}});
        break;
    }
  }
  return json{{"succeeded", r.succeeded}, {"version", r.version}, {"results", results}};
}

}  // namespace ringkv::server
