#include "storage/rocks_crc32c.h"

#include <cstddef>
#include <cstdint>

#include "common/crc32c.h"

// Compiled only with the weak archive (cmake/RocksdbFastCrc32c.cmake): there the library's
// crc32c.cc.o defines Extend weakly, so this strong definition is the one every call in the
// library reaches, and nothing else can be (a second strong definition fails the link).

namespace rocksdb::crc32c {

// RocksDB's util/crc32c.h: "Return the crc32c of concat(A, data[0,n-1]) where init_crc is the
// crc32c of some string A" — ringkv::crc32c::Extend's contract exactly.
uint32_t Extend(uint32_t init_crc, const char* data, size_t n) {
  return ringkv::crc32c::Extend(init_crc, data, n);
}

}  // namespace rocksdb::crc32c

namespace ringkv::storage {

bool RocksCrc32cIsOurs() { return true; }

}  // namespace ringkv::storage
