// The reserved key space, shared by the client (kvctl user|role read and write the permission
// rules through it) and the server (which keeps clients out of it).
//
// Keys starting with kReservedPrefix belong to the system: they sort after every user key,
// clients cannot write them with put/delete/append, and scans never return them. The
// permission rules (proto/auth.proto, AuthConfig) are the value of kAuthConfigKey.
//
// Thread-safety: constants and a pure function.
#ifndef RINGKV_PROTO_RESERVED_KEYS_H_
#define RINGKV_PROTO_RESERVED_KEYS_H_

#include <string_view>

namespace ringkv::authpb {

inline constexpr std::string_view kReservedPrefix = "\xff\xff\xffringkv/";
inline constexpr std::string_view kAuthConfigKey = "\xff\xff\xffringkv/auth";

inline bool IsReservedKey(std::string_view key) {
  return key.substr(0, kReservedPrefix.size()) == kReservedPrefix;
}

}  // namespace ringkv::authpb

#endif  // RINGKV_PROTO_RESERVED_KEYS_H_
