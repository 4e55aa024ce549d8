// A storage engine for fuzz targets: RocksDB over an in-memory Env (no disk, no cleanup), with
// small memtables, replaced by a fresh one every `kInputsPerEngine` inputs so memory stays
// bounded. Each input works on a group id of its own, so no input sees another's state.
#ifndef RINGKV_FUZZ_FUZZ_ENGINE_H_
#define RINGKV_FUZZ_FUZZ_ENGINE_H_

#include <rocksdb/env.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "storage/engine.h"

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
  void Reopen() {
    engine_.reset();
    env_.reset(rocksdb::NewMemEnv(rocksdb::Env::Default()));
    storage::EngineOptions o;
    o.path = "/fuzz-engine";
    o.env = env_.get();
    o.raft_write_buffer_size = 1 << 20;
    o.data_write_buffer_size = 1 << 20;
    o.block_cache_size = 1 << 20;
    auto e = storage::Engine::Open(o);
    if (!e.ok()) {
      std::cerr << "fuzz: cannot open the in-memory engine: " << e.status() << "\n";
      std::abort();
    }
    engine_ = std::move(e).value();
  }

  std::unique_ptr<rocksdb::Env> env_;  // outlives engine_ (declared first)
  std::unique_ptr<storage::Engine> engine_;
  uint64_t inputs_ = 0;
  uint64_t next_group_ = 0;
};

}  // namespace ringkv::fuzz

#endif  // RINGKV_FUZZ_FUZZ_ENGINE_H_
