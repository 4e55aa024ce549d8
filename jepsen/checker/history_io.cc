// History readers and writers; see history_io.h.
#include "jepsen/checker/history_io.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace ringkv::jepsen {
namespace {

Status BadOp(const edn::Value& v, std::string_view why) {
  return Status::InvalidArgument("bad operation " + edn::Write(v) + ": " + std::string(why));
}

Result<Op> OpFromMap(const edn::Value& m, size_t position) {
  if (!m.IsMap()) return BadOp(m, "not a map");
  Op op;
  op.index = static_cast<int64_t>(position);
  const edn::Value* type = m.Get("type");
  if (type == nullptr || !type->IsKeyword()) return BadOp(m, "missing :type keyword");
  auto t = ParseOpType(type->str);
  if (!t) return BadOp(m, "unknown :type");
  op.type = *t;
  const edn::Value* process = m.Get("process");
  if (process == nullptr) return BadOp(m, "missing :process");
  if (process->IsInt()) {
    if (process->integer < 0) return BadOp(m, "negative :process");
    op.process = process->integer;
  } else if (process->IsKeyword("nemesis")) {
    op.process = kNemesisProcess;
  } else {
    return BadOp(m, ":process must be an integer or :nemesis");
  }
  if (const edn::Value* f = m.Get("f"); f != nullptr) {
    if (!f->IsKeyword() && !f->IsString()) return BadOp(m, ":f must be a keyword");
    op.f = f->str;
  }
  if (const edn::Value* key = m.Get("key"); key != nullptr && !key->IsNil()) {
    if (key->IsString() || key->IsKeyword()) {
      op.key = key->str;
    } else if (key->IsInt()) {
      op.key = std::to_string(key->integer);
    } else {
      return BadOp(m, ":key must be a string or an integer");
    }
  }
  if (const edn::Value* value = m.Get("value"); value != nullptr) op.value = *value;
  if (const edn::Value* time = m.Get("time"); time != nullptr) {
    if (!time->IsInt()) return BadOp(m, ":time must be an integer");
    op.time_ns = time->integer;
  }
  if (const edn::Value* index = m.Get("index"); index != nullptr) {
    if (!index->IsInt()) return BadOp(m, ":index must be an integer");
    op.index = index->integer;
  }
  if (const edn::Value* version = m.Get("version"); version != nullptr && !version->IsNil()) {
    if (!version->IsInt()) return BadOp(m, ":version must be an integer");
    op.version = version->integer;
  }
  return op;
}

nlohmann::json ToJson(const edn::Value& v) {
  switch (v.kind) {
    case edn::Kind::kNil: return nullptr;
    case edn::Kind::kBool: return v.boolean;
    case edn::Kind::kInt: return v.integer;
    case edn::Kind::kString:
    case edn::Kind::kKeyword:
    case edn::Kind::kSymbol: return v.str;
    case edn::Kind::kMap: {
      bool string_keys = true;
      for (size_t i = 0; i < v.items.size(); i += 2) {
        const edn::Value& k = v.items[i];
        string_keys &= k.IsKeyword() || k.IsString();
      }
      if (string_keys) {
        nlohmann::json obj = nlohmann::json::object();
        for (size_t i = 0; i + 1 < v.items.size(); i += 2) obj[v.items[i].str] = ToJson(v.items[i + 1]);
        return obj;
      }
      nlohmann::json pairs = nlohmann::json::array();
      for (size_t i = 0; i + 1 < v.items.size(); i += 2) {
        pairs.push_back(nlohmann::json::array({ToJson(v.items[i]), ToJson(v.items[i + 1])}));
      }
      return pairs;
    }
    default: {
      nlohmann::json arr = nlohmann::json::array();
      for (const edn::Value& item : v.items) arr.push_back(ToJson(item));
      return arr;
    }
  }
}

}  // namespace

Result<History> HistoryFromEdn(std::string_view text) {
  auto forms = edn::ParseAll(text);
  if (!forms.ok()) return forms.status();
  const std::vector<edn::Value>* ops = &forms.value();
  if (forms->size() == 1 && (*forms)[0].IsSequence()) ops = &(*forms)[0].items;
  History history;
  history.reserve(ops->size());
  for (size_t i = 0; i < ops->size(); ++i) {
    auto op = OpFromMap((*ops)[i], i);
    if (!op.ok()) return op.status();
    history.push_back(std::move(op).value());
  }
  return history;
}

Result<History> HistoryFromEtcdLog(std::string_view text) {
  static constexpr std::string_view kMarker = "jepsen.util - ";
  History history;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    size_t at = line.find(kMarker);
    if (at == std::string_view::npos) continue;
    // "<process>\t:<type>\t:<f>\t<value>": the first three fields are single tokens.
    std::string fields = std::string(line.substr(at + kMarker.size()));
    std::string edn_text = "[" + fields + "]";
    auto parsed = edn::ParseAll(edn_text);
    auto bad = [&](std::string_view why) {
      return Status::InvalidArgument("etcd log line " + std::to_string(line_no) + ": " +
                                     std::string(why));
    };
    if (!parsed.ok()) return bad(parsed.status().message());
    const std::vector<edn::Value>& items = (*parsed)[0].items;
    if (items.size() != 4 || !items[0].IsInt() || !items[1].IsKeyword() || !items[2].IsKeyword()) {
      return bad("expected <process> :<type> :<f> <value>");
    }
    auto type = ParseOpType(items[1].str);
    if (!type) return bad("unknown type");
    Op op;
    op.index = static_cast<int64_t>(history.size());
    op.process = items[0].integer;
    op.type = *type;
    op.f = items[2].str;
    op.value = items[3];
    history.push_back(std::move(op));
  }
  if (history.empty()) return Status::InvalidArgument("no jepsen.util lines in etcd log");
  return history;
}

Result<History> ReadHistoryFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open history file " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return Status::IOError("error reading " + path);
  std::string text = buf.str();
  if (text.find("jepsen.util -") != std::string::npos) return HistoryFromEtcdLog(text);
  return HistoryFromEdn(text);
}

std::string WriteHistoryEdn(const History& history) {
  std::string out;
  for (const Op& op : history) {
    out += FormatOp(op);
    out += '\n';
  }
  return out;
}

std::string WriteHistoryJson(const History& history) {
  nlohmann::json arr = nlohmann::json::array();
  for (const Op& op : history) {
    nlohmann::json j;
    j["index"] = op.index;
    j["type"] = std::string(OpTypeName(op.type));
    j["f"] = op.f;
    j["value"] = ToJson(op.value);
    if (op.process == kNemesisProcess) {
      j["process"] = "nemesis";
    } else {
      j["process"] = op.process;
    }
    j["time"] = op.time_ns;
    if (op.key) j["key"] = *op.key;
    if (op.version) j["version"] = *op.version;
    arr.push_back(std::move(j));
  }
  // Strings of a history need not be UTF-8 (EDN symbols and strings are bytes): invalid bytes
  // become U+FFFD instead of an exception that ends the process (found by the edn_history
  // fuzz target; regression input fuzz/corpus/edn_history/regress-invalid-utf8-symbol).
  return arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace ringkv::jepsen
