// The free disk space the storage engine needs to open, checked before RocksDB is opened.
//
// Opening replays the write-ahead log into tables (the recovered memtables are flushed at open)
// and starts a new write-ahead log, which RocksDB preallocates (1.1 x the largest memtable). On
// a full disk RocksDB does not fail cleanly there: it aborts on an assertion
// (`sync_without_flush_called_`, issue 10), so the node would die with no word about the cause
// on every restart. Checking first turns that into an error naming the data directory and the
// space it needs.
//
// Thread-safety: pure functions of the file system's state.
#ifndef RINGKV_STORAGE_OPEN_SPACE_H_
#define RINGKV_STORAGE_OPEN_SPACE_H_

#include <cstdint>
#include <string>

#include "common/status.h"

namespace ringkv::storage {

struct EngineOptions;

struct OpenSpace {
  uint64_t wal_bytes = 0;       // write-ahead log files in <data_dir>/db to replay
  uint64_t needed_bytes = 0;    // free bytes opening needs (see SpaceToOpen)
  uint64_t free_bytes = 0;      // available to us on the data dir's file system
};

// Measures what opening the engine of `options` needs: 1.1 x the write-ahead log to replay into
// tables, plus 1.1 x the largest memtable (the new log's preallocation), plus 16 MiB for
// manifest, options and info log files. IOError when the free space cannot be read.
Status SpaceToOpen(const EngineOptions& options, OpenSpace* out);

// OK when the data dir's file system has the space SpaceToOpen says; else ResourceExhausted
// naming the data directory, the free and the needed space, and what to do. A file system
// whose free space cannot be read is not refused (RocksDB reports its own errors).
Status CheckSpaceToOpen(const EngineOptions& options);

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_OPEN_SPACE_H_
