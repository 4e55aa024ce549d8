// Sequential specifications for the linearizability checker, and the compilation of one key's
// operations into SearchOps for them.
//
// Register (Knossos cas-register, Porcupine etcd): initial value nil; :read returns the value in
// its :ok; :write v; :cas [expected new] succeeds only when the value equals `expected`.
// KV (Porcupine kv): per key a string, initially ""; :get returns it (nil reads as ""); :put v
// replaces it; :append v concatenates.
//
// Which operations enter the search: a :fail never took effect and is dropped; a read whose
// outcome is unknown (:info, or never completed) or failed observes nothing and is dropped; a
// mutation with an unknown outcome stays, with no return (it may take effect or not), unless the
// model shows it is never needed (DropNeedless; the register: its new value is never observed).
//
// Thread-safety: a model instance belongs to one search.
#ifndef RINGKV_JEPSEN_CHECKER_MODELS_H_
#define RINGKV_JEPSEN_CHECKER_MODELS_H_

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "jepsen/checker/history.h"
#include "jepsen/checker/wgl.h"

namespace ringkv::jepsen {

enum class LinearModelKind { kRegister, kKv };

// A model plus the compiler of operations into its alphabet.
class CompilingModel : public Model {
 public:
  // Appends the SearchOp for `pairs[i]` to *out (or nothing when it is dropped).
  // Returns kInvalidArgument for operations the model doesn't know or malformed arguments.
  virtual Status Compile(const std::vector<OpPair>& pairs, size_t i,
                         std::vector<SearchOp>* out) = 0;
  // Renders a compiled op's arguments, e.g. "read 3", "cas 1->2".
  virtual std::string DescribeOp(const SearchOp& op) const = 0;
  // Removes, from one key's compiled ops, unknown-outcome ops that a linearization never needs:
  // any linearization with one stays one without it. Each such op would otherwise double the
  // configurations an invalid history's search visits. Default: removes nothing.
  virtual void DropNeedless(std::vector<SearchOp>* ops) const { (void)ops; }
};

std::unique_ptr<CompilingModel> NewModel(LinearModelKind kind);

}  // namespace ringkv::jepsen

#endif  // RINGKV_JEPSEN_CHECKER_MODELS_H_
