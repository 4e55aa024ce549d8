// Big-endian fixed-width encoding, so that byte order of encoded keys is numeric order.
//
// Thread-safety: pure functions.
#ifndef RINGKV_COMMON_CODING_H_
#define RINGKV_COMMON_CODING_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace ringkv {

// REQUIRES: p points at >= 4 writable bytes.
inline void EncodeFixed32BE(char* p, uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}

// REQUIRES: p points at >= 8 writable bytes.
inline void EncodeFixed64BE(char* p, uint64_t v) {
  EncodeFixed32BE(p, static_cast<uint32_t>(v >> 32));
  EncodeFixed32BE(p + 4, static_cast<uint32_t>(v));
}

inline void PutFixed32BE(std::string* dst, uint32_t v) {
  char buf[4];
  EncodeFixed32BE(buf, v);
  dst->append(buf, 4);
}

inline void PutFixed64BE(std::string* dst, uint64_t v) {
  PutFixed32BE(dst, static_cast<uint32_t>(v >> 32));
  PutFixed32BE(dst, static_cast<uint32_t>(v));
}

// REQUIRES: p points at >= 4 readable bytes.
inline uint32_t DecodeFixed32BE(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}

// REQUIRES: p points at >= 8 readable bytes.
inline uint64_t DecodeFixed64BE(const char* p) {
  return (uint64_t{DecodeFixed32BE(p)} << 32) | DecodeFixed32BE(p + 4);
}

// Reads a big-endian u64 from the front of *in and advances it. False if too short.
inline bool GetFixed64BE(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = DecodeFixed64BE(in->data());
  in->remove_prefix(8);
  return true;
}

inline bool GetFixed32BE(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  *v = DecodeFixed32BE(in->data());
  in->remove_prefix(4);
  return true;
}

}  // namespace ringkv

#endif  // RINGKV_COMMON_CODING_H_
