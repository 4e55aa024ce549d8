// Register and KV models; see models.h.
#include "jepsen/checker/models.h"

namespace ringkv::jepsen {
namespace {

// Interns strings to dense ids; id 0 is the string given at construction.
class Interner {
 public:
  explicit Interner(std::string zero) { Intern(std::move(zero)); }
  uint32_t Intern(std::string s) {
    auto [it, fresh] = ids_.try_emplace(s, static_cast<uint32_t>(values_.size()));
    if (fresh) values_.push_back(std::move(s));
    return it->second;
  }
  const std::string& Get(uint32_t id) const { return values_[id]; }
  size_t size() const { return values_.size(); }

 private:
  std::vector<std::string> values_;
  std::unordered_map<std::string, uint32_t> ids_;
};

// Completed-or-unknown return position for a pair.
int64_t RetOf(const OpPair& p) { return p.outcome == OpType::kOk ? p.ret : SearchOp::kNever; }

class RegisterModel : public CompilingModel {
 public:
  enum Kind : uint32_t { kRead, kWrite, kCas };

  uint32_t Init() override { return 0; }  // nil

  bool Step(uint32_t state, const SearchOp& op, uint32_t* next) override {
    switch (op.kind) {
      case kRead:
        *next = state;
        return state == op.a;
      case kWrite:
        *next = op.a;
        return true;
      default:
        *next = op.b;
        return state == op.a;
    }
  }

  std::string DescribeState(uint32_t state) const override { return values_.Get(state); }

  std::string DescribeOp(const SearchOp& op) const override {
    switch (op.kind) {
      case kRead: return "read " + values_.Get(op.a);
      case kWrite: return "write " + values_.Get(op.a);
      default: return "cas " + values_.Get(op.a) + "->" + values_.Get(op.b);
    }
  }

  Status Compile(const std::vector<OpPair>& pairs, size_t i, std::vector<SearchOp>* out) override {
    const OpPair& p = pairs[i];
    if (p.outcome == OpType::kFail) return Status::OK();
    SearchOp op;
    op.call = p.call;
    op.ret = RetOf(p);
    op.pair = i;
    if (p.f == "read") {
      if (p.outcome != OpType::kOk) return Status::OK();
      op.kind = kRead;
      op.a = Intern(p.result_value);
      op.read_only = true;
    } else if (p.f == "write") {
      op.kind = kWrite;
      op.a = Intern(p.invoke_value);
    } else if (p.f == "cas") {
      const edn::Value& v = p.invoke_value;
      if (!v.IsSequence() || v.items.size() != 2) {
        return Status::InvalidArgument("cas needs [expected new]: " + FormatPair(p));
      }
      op.kind = kCas;
      op.a = Intern(v.items[0]);
      op.b = Intern(v.items[1]);
    } else {
      return Status::InvalidArgument("register model has no operation :" + p.f + ": " +
                                     FormatPair(p));
    }
    out->push_back(op);
    return Status::OK();
  }

  // An unknown-outcome write or cas whose new value no read returned and no cas expects: in a
  // linearization, the op after it cannot be a read or a cas (each needs another value), so it
  // is a write, which does not look at the state, or nothing. Dropping the op keeps it valid.
  void DropNeedless(std::vector<SearchOp>* ops) const override {
    std::vector<bool> observed(values_.size(), false);
    for (const SearchOp& op : *ops) {
      if (op.kind == kRead || op.kind == kCas) observed[op.a] = true;
    }
    std::erase_if(*ops, [&](const SearchOp& op) {
      if (op.ret != SearchOp::kNever) return false;
      return !observed[op.kind == kWrite ? op.a : op.b];
    });
  }

 private:
  uint32_t Intern(const edn::Value& v) { return values_.Intern(edn::Write(v)); }
  Interner values_{"nil"};
};

class KvModel : public CompilingModel {
 public:
  enum Kind : uint32_t { kGet, kPut, kAppend };

  uint32_t Init() override { return 0; }  // ""

  bool Step(uint32_t state, const SearchOp& op, uint32_t* next) override {
    switch (op.kind) {
      case kGet:
        *next = state;
        return state == op.a;
      case kPut:
        *next = op.a;
        return true;
      default: {
        uint64_t memo_key = (uint64_t{state} << 32) | op.a;
        auto it = appended_.find(memo_key);
        if (it == appended_.end()) {
          it = appended_.emplace(memo_key, values_.Intern(values_.Get(state) + values_.Get(op.a)))
                   .first;
        }
        *next = it->second;
        return true;
      }
    }
  }

  std::string DescribeState(uint32_t state) const override { return Quote(values_.Get(state)); }

  std::string DescribeOp(const SearchOp& op) const override {
    static const char* kNames[] = {"get ", "put ", "append "};
    return kNames[op.kind] + Quote(values_.Get(op.a));
  }

  Status Compile(const std::vector<OpPair>& pairs, size_t i, std::vector<SearchOp>* out) override {
    const OpPair& p = pairs[i];
    if (p.outcome == OpType::kFail) return Status::OK();
    SearchOp op;
    op.call = p.call;
    op.ret = RetOf(p);
    op.pair = i;
    if (p.f == "get") {
      if (p.outcome != OpType::kOk) return Status::OK();
      op.kind = kGet;
      op.a = Intern(p.result_value);
      op.read_only = true;
    } else if (p.f == "put" || p.f == "append") {
      op.kind = p.f == "put" ? kPut : kAppend;
      op.a = Intern(p.invoke_value);
    } else {
      return Status::InvalidArgument("kv model has no operation :" + p.f + ": " + FormatPair(p));
    }
    out->push_back(op);
    return Status::OK();
  }

 private:
  static std::string Quote(const std::string& s) { return edn::Write(edn::Value::String(s)); }
  uint32_t Intern(const edn::Value& v) {
    if (v.IsNil()) return 0;
    return values_.Intern(v.IsString() ? v.str : edn::Write(v));
  }
  Interner values_{""};
  std::unordered_map<uint64_t, uint32_t> appended_;  // (state, arg) -> state after append
};

}  // namespace

std::unique_ptr<CompilingModel> NewModel(LinearModelKind kind) {
  if (kind == LinearModelKind::kKv) return std::make_unique<KvModel>();
  return std::make_unique<RegisterModel>();
}

}  // namespace ringkv::jepsen
