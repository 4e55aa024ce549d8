// CRC-32C (Castagnoli), the checksum of every on-disk and on-wire record. Uses the SSE4.2 crc32
// instruction when the CPU has it, a table otherwise; both give identical results.
//
// Thread-safety: pure functions.
#ifndef RINGKV_COMMON_CRC32C_H_
#define RINGKV_COMMON_CRC32C_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringkv::crc32c {

// Returns the CRC-32C of data[0,n) continued from `init_crc` (the value of an earlier Value or
// Extend call; 0 to start).
uint32_t Extend(uint32_t init_crc, const char* data, size_t n);

inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view s) { return Extend(0, s.data(), s.size()); }

}  // namespace ringkv::crc32c

#endif  // RINGKV_COMMON_CRC32C_H_
