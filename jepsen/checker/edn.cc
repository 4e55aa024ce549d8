// EDN reader/writer; see edn.h.
#include "jepsen/checker/edn.h"

#include <cctype>
#include <charconv>

namespace ringkv::jepsen::edn {

Value Value::Int(int64_t v) {
  Value out;
  out.kind = Kind::kInt;
  out.integer = v;
  return out;
}

Value Value::String(std::string_view s) {
  Value out;
  out.kind = Kind::kString;
  out.str = std::string(s);
  return out;
}

Value Value::Keyword(std::string_view k) {
  Value out;
  out.kind = Kind::kKeyword;
  out.str = std::string(k);
  return out;
}

Value Value::Vector(std::vector<Value> items) {
  Value out;
  out.kind = Kind::kVector;
  out.items = std::move(items);
  return out;
}

Value Value::Map(std::vector<std::pair<Value, Value>> kvs) {
  Value out;
  out.kind = Kind::kMap;
  for (auto& [k, v] : kvs) {
    out.items.push_back(std::move(k));
    out.items.push_back(std::move(v));
  }
  return out;
}

const Value* Value::Get(std::string_view keyword) const {
  if (kind != Kind::kMap) return nullptr;
  for (size_t i = 0; i + 1 < items.size(); i += 2) {
    if (items[i].IsKeyword(keyword)) return &items[i + 1];
  }
  return nullptr;
}

bool operator==(const Value& a, const Value& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::kNil:
      return true;
    case Kind::kBool:
      return a.boolean == b.boolean;
    case Kind::kInt:
      return a.integer == b.integer;
    case Kind::kString:
    case Kind::kKeyword:
    case Kind::kSymbol:
      return a.str == b.str;
    default:
      return a.items == b.items;
  }
}

namespace {

bool IsDelimiter(char c) {
  return std::isspace(static_cast<unsigned char>(c)) || c == ',' || c == '(' || c == ')' ||
         c == '[' || c == ']' || c == '{' || c == '}' || c == '"' || c == ';';
}

// Recursive-descent parser over a string_view; tracks the line for error messages.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<std::vector<Value>> ParseTopLevel() {
    std::vector<Value> out;
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size()) break;
      auto v = ParseValue(0);
      if (!v.ok()) return v.status();
      out.push_back(std::move(v).value());
    }
    return out;
  }

 private:
  static constexpr int kMaxDepth = 64;

  Status Error(std::string_view what) const {
    return Status::InvalidArgument("edn line " + std::to_string(line_) + ": " + std::string(what));
  }

  void SkipSpace() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '\n') {
        ++line_;
        ++pos_;
      } else if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
        ++pos_;
      } else if (c == ';') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  std::string_view Token() {
    size_t start = pos_;
    while (pos_ < text_.size() && !IsDelimiter(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  Result<Value> ParseValue(int depth) {
    if (depth > kMaxDepth) return Error("nesting too deep");
    SkipSpace();
    if (pos_ >= text_.size()) return Error("unexpected end of input");
    char c = text_[pos_];
    switch (c) {
      case '[':
        return ParseSeq(']', Kind::kVector, depth);
      case '(':
        return ParseSeq(')', Kind::kList, depth);
      case '{':
        return ParseSeq('}', Kind::kMap, depth);
      case '#':
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '{') {
          ++pos_;
          return ParseSeq('}', Kind::kSet, depth);
        }
        return Error("tagged literals are not supported");
      case '"':
        return ParseString();
      case ']':
      case ')':
      case '}':
        return Error(std::string("unexpected '") + c + "'");
      case '\\':
        return Error("character literals are not supported");
      default:
        return ParseAtom();
    }
  }

  Result<Value> ParseSeq(char close, Kind kind, int depth) {
    ++pos_;  // opening bracket
    Value out;
    out.kind = kind;
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size()) return Error(std::string("missing '") + close + "'");
      if (text_[pos_] == close) {
        ++pos_;
        break;
      }
      auto v = ParseValue(depth + 1);
      if (!v.ok()) return v.status();
      out.items.push_back(std::move(v).value());
    }
    if (kind == Kind::kMap && out.items.size() % 2 != 0) return Error("map with odd element count");
    return out;
  }

  Result<Value> ParseString() {
    ++pos_;  // opening quote
    std::string s;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c == '\n') ++line_;
      if (c != '\\') {
        s.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      char e = text_[pos_++];
      switch (e) {
        case 'n': s.push_back('\n'); break;
        case 't': s.push_back('\t'); break;
        case 'r': s.push_back('\r'); break;
        case '"': s.push_back('"'); break;
        case '\\': s.push_back('\\'); break;
        default: return Error("unsupported string escape");
      }
    }
    if (pos_ >= text_.size()) return Error("unterminated string");
    ++pos_;  // closing quote
    return Value::String(s);
  }

  Result<Value> ParseAtom() {
    std::string_view tok = Token();
    if (tok.empty()) return Error("unexpected character");
    if (tok[0] == ':') {
      if (tok.size() == 1) return Error("empty keyword");
      return Value::Keyword(tok.substr(1));
    }
    bool numeric = std::isdigit(static_cast<unsigned char>(tok[0])) ||
                   ((tok[0] == '-' || tok[0] == '+') && tok.size() > 1 &&
                    std::isdigit(static_cast<unsigned char>(tok[1])));
    if (numeric) {
      std::string_view digits = tok[0] == '+' ? tok.substr(1) : tok;
      if (!digits.empty() && digits.back() == 'N') digits.remove_suffix(1);  // bigint suffix
      int64_t v = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
      if (ec != std::errc() || end != digits.data() + digits.size()) {
        return Error("unsupported number '" + std::string(tok) + "'");
      }
      return Value::Int(v);
    }
    if (tok == "nil") return Value::Nil();
    if (tok == "true" || tok == "false") {
      Value b;
      b.kind = Kind::kBool;
      b.boolean = tok == "true";
      return b;
    }
    Value sym;
    sym.kind = Kind::kSymbol;
    sym.str = std::string(tok);
    return sym;
  }

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
};

void WriteTo(const Value& v, std::string* out) {
  auto write_items = [&](const char* open, const char* close, const char* sep) {
    out->append(open);
    for (size_t i = 0; i < v.items.size(); ++i) {
      if (i > 0) out->append(v.kind == Kind::kMap && i % 2 == 0 ? sep : " ");
      WriteTo(v.items[i], out);
    }
    out->append(close);
  };
  switch (v.kind) {
    case Kind::kNil:
      out->append("nil");
      break;
    case Kind::kBool:
      out->append(v.boolean ? "true" : "false");
      break;
    case Kind::kInt:
      out->append(std::to_string(v.integer));
      break;
    case Kind::kString:
      out->push_back('"');
      for (char c : v.str) {
        switch (c) {
          case '"': out->append("\\\""); break;
          case '\\': out->append("\\\\"); break;
          case '\n': out->append("\\n"); break;
          case '\t': out->append("\\t"); break;
          case '\r': out->append("\\r"); break;
          default: out->push_back(c);
        }
      }
      out->push_back('"');
      break;
    case Kind::kKeyword:
      out->push_back(':');
      out->append(v.str);
      break;
    case Kind::kSymbol:
      out->append(v.str);
      break;
    case Kind::kVector:
      write_items("[", "]", " ");
      break;
    case Kind::kList:
      write_items("(", ")", " ");
      break;
    case Kind::kMap:
      write_items("{", "}", ", ");
      break;
    case Kind::kSet:
      write_items("#{", "}", " ");
      break;
  }
}

}  // namespace

Result<std::vector<Value>> ParseAll(std::string_view text) { return Parser(text).ParseTopLevel(); }

bool IsKeywordName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (IsDelimiter(c)) return false;
  }
  return true;
}

std::string Write(const Value& v) {
  std::string out;
  WriteTo(v, &out);
  return out;
}

}  // namespace ringkv::jepsen::edn
