// PeekRequestHeader: reads what admission control needs from a serialized kvpb::Request — the
// request id, its timeout and which operation it is — without parsing the message: the value bytes of a put
// are skipped over, never copied. A request shed under overload therefore costs a scan of a few
// field tags and a small reply, not a parse of (up to 4 MiB of) value.
//
// Thread-safety: a pure function.
#ifndef RINGKV_SERVER_REQUEST_HEADER_H_
#define RINGKV_SERVER_REQUEST_HEADER_H_

#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace ringkv::server {

struct RequestHeader {
  uint64_t request_id = 0;
  // The attempt's server-side timeout in ms (0 = the server's default).
  uint32_t timeout_ms = 0;
  // The field number of the request's operation (kvpb::Request's `op` oneof: 10 get .. 17
  // admin, 18 txn .. 24 watch cancel), 0 when none is set. With several, the last one wins, as
  // in a protobuf parse.
  int op_field = 0;
  // Status and admin requests are for operators, and a watch cancel only frees a stream (a
  // shed one would keep it sending until the connection closes): admission never sheds them.
  bool is_control() const;
};

// InvalidArgument when the bytes are not a well-formed protobuf message at the top level (the
// caller then parses it anyway to give the usual "malformed request" answer).
Result<RequestHeader> PeekRequestHeader(std::string_view payload);

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_REQUEST_HEADER_H_
