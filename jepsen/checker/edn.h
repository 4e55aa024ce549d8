// A small EDN (extensible data notation) reader and writer, sufficient for Jepsen histories:
// nil, booleans, integers, strings, keywords, symbols, vectors, lists, maps and sets, with `,`
// as whitespace and `;` comments. Floats, tagged literals and characters are rejected.
//
// Thread-safety: Value is a plain value type; the functions are pure and reentrant.
#ifndef RINGKV_JEPSEN_CHECKER_EDN_H_
#define RINGKV_JEPSEN_CHECKER_EDN_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace ringkv::jepsen::edn {

enum class Kind { kNil, kBool, kInt, kString, kKeyword, kSymbol, kVector, kList, kMap, kSet };

// One EDN value. `str` holds strings, keywords (without the leading ':') and symbols; `items`
// holds vector/list/set elements, and map entries flattened as key, value, key, value, ...
struct Value {
  Kind kind = Kind::kNil;
  bool boolean = false;
  int64_t integer = 0;
  std::string str;
  std::vector<Value> items;

  static Value Nil() { return Value(); }
  static Value Int(int64_t v);
  static Value String(std::string_view s);
  static Value Keyword(std::string_view k);
  static Value Vector(std::vector<Value> items);
  // `kvs` are key/value pairs.
  static Value Map(std::vector<std::pair<Value, Value>> kvs);

  bool IsNil() const { return kind == Kind::kNil; }
  bool IsInt() const { return kind == Kind::kInt; }
  bool IsString() const { return kind == Kind::kString; }
  bool IsKeyword() const { return kind == Kind::kKeyword; }
  bool IsKeyword(std::string_view k) const { return kind == Kind::kKeyword && str == k; }
  // Vector or list (ordered sequences; Jepsen uses both interchangeably).
  bool IsSequence() const { return kind == Kind::kVector || kind == Kind::kList; }
  bool IsMap() const { return kind == Kind::kMap; }

  // For maps: the value stored under keyword `k`, or nullptr when absent.
  const Value* Get(std::string_view keyword) const;

  friend bool operator==(const Value& a, const Value& b);
};

// Parses every top-level form in `text`.
// Returns kInvalidArgument with a line number on malformed or unsupported input.
Result<std::vector<Value>> ParseAll(std::string_view text);

// Renders `v` as EDN text on one line; maps print as `{:k v, :k2 v2}`. ParseAll(Write(v)) == {v}.
std::string Write(const Value& v);

// True if `name` reads back as the keyword `:name`: non-empty and free of EDN delimiters
// (whitespace, commas, brackets, quotes, semicolons).
bool IsKeywordName(std::string_view name);

}  // namespace ringkv::jepsen::edn

#endif  // RINGKV_JEPSEN_CHECKER_EDN_H_
