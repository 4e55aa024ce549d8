// Conversions between the public client types (ringkv/client.h) and the wire protocol
// (proto/kv.proto): building each operation's Request and turning a final Response into the
// operation's result.
//
// Thread-safety: pure functions.
#ifndef RINGKV_CLIENT_CONVERT_H_
#define RINGKV_CLIENT_CONVERT_H_

#include <optional>
#include <string_view>

#include "common/result.h"
#include "proto/kv.pb.h"
#include "ringkv/client.h"

namespace ringkv::client {

kvpb::Request MakeGet(std::string_view key, Consistency consistency);
kvpb::Request MakePut(std::string_view key, std::string_view value, uint64_t lease = 0);
kvpb::Request MakeDelete(std::string_view key);
kvpb::Request MakeCas(std::string_view key, const Expect& expect, std::string_view new_value,
                      uint64_t lease = 0);
kvpb::Request MakeAppend(std::string_view key, std::string_view suffix);
kvpb::Request MakeScan(std::string_view start, std::string_view end, const ScanOptions& scan,
                       Consistency consistency);

// Each takes a final response (error absent, OK, NOT_FOUND or CAS_FAILED). A response whose
// error is not one the operation expects, or that lacks the operation's result, is a protocol
// violation: Unavailable naming what was wrong (definite for reads; writes never get here with
// an ambiguous answer because the server only sends such errors definite).
Result<std::optional<KeyValue>> ToGet(const kvpb::Response& r);
Result<uint64_t> ToPut(const kvpb::Response& r);
Result<bool> ToDelete(const kvpb::Response& r);
Result<CasResult> ToCas(const kvpb::Response& r);
Result<AppendResult> ToAppend(const kvpb::Response& r);
Result<ScanResult> ToScan(const kvpb::Response& r);

kvpb::Request MakeTxn(const Txn& txn);
Result<TxnResult> ToTxn(const kvpb::Response& r);
kvpb::Request MakeLeaseGrant(std::chrono::milliseconds ttl, std::string_view shard_key);
kvpb::Request MakeLeaseRevoke(uint64_t lease);
kvpb::Request MakeLeaseKeepAlive(uint64_t lease);
kvpb::Request MakeLeaseTimeToLive(uint64_t lease, bool keys);
Result<Lease> ToLeaseGrant(const kvpb::Response& r);
Result<uint32_t> ToLeaseRevoke(const kvpb::Response& r);
Result<std::chrono::milliseconds> ToLeaseKeepAlive(const kvpb::Response& r);
Result<LeaseInfo> ToLeaseTimeToLive(const kvpb::Response& r);
WatchEvent FromProto(const kvpb::WatchEvent& e, uint32_t shard);

KeyValue FromProto(const kvpb::KeyValue& kv);

}  // namespace ringkv::client

#endif  // RINGKV_CLIENT_CONVERT_H_
