// RocksDB's CRC-32C with the SSE4.2 instruction. Debian's librocksdb is built portable (no
// -msse4.2), so its own crc32c is table-driven: with 64 KiB values, checksumming blob records
// (written once per value and per change-history copy, verified again when compaction moves
// them) was about a fifth of the servers' CPU (docs/benchmarks.md §10k). rocks_crc32c.cc
// defines `rocksdb::crc32c::Extend` with ringkv::crc32c (the same CRC, so files stay readable by
// any RocksDB build), and the build links a copy of Debian's static librocksdb whose own
// definition is weak (cmake/RocksdbFastCrc32c.cmake), so every call in the library reaches it.
// Where that copy cannot be made, RocksDB keeps its own: slower, never wrong.
//
// Thread-safety: pure functions.
#ifndef RINGKV_STORAGE_ROCKS_CRC32C_H_
#define RINGKV_STORAGE_ROCKS_CRC32C_H_

namespace ringkv::storage {

// Whether RocksDB's calls to rocksdb::crc32c::Extend reach ringkv's CRC-32C (the build made
// the weak archive).
bool RocksCrc32cIsOurs();

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_ROCKS_CRC32C_H_
