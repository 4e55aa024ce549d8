// A storage engine for fuzz targets: a MemEngine (no disk, no cleanup; the node's engine keeps
// its Raft log in files of its own, which an in-memory rocksdb::Env cannot hold), replaced by a
// fresh one every `kInputsPerEngine` inputs so memory stays bounded. Each input works on a
// group id of its own, so no input sees another's state.
#ifndef RINGKV_FUZZ_FUZZ_ENGINE_H_
#define RINGKV_FUZZ_FUZZ_ENGINE_H_

#include <cstdint>
#include <memory>

#include "storage/engine.h"
#include "storage/mem_engine.h"

namespace ringkv::fuzz {

class FuzzEngine {
 public:
  static constexpr uint64_t kInputsPerEngine = 2000;

  // The engine for the next input and that input's fresh group id.
  storage::Engine* Next(GroupId* group) {
    if (engine_ == nullptr || ++inputs_ % kInputsPerEngine == 0) Reopen();
    *group = GroupId(++next_group_);
    return engine_.get();
  }

 private:
  void Reopen() { engine_ = std::make_unique<storage::MemEngine>(); }

  std::unique_ptr<storage::Engine> engine_;
  uint64_t inputs_ = 0;
  uint64_t next_group_ = 0;
};

}  // namespace ringkv::fuzz

#endif  // RINGKV_FUZZ_FUZZ_ENGINE_H_
