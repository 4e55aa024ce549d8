#include "server/request_header.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "proto/kv.pb.h"

namespace ringkv::server {

using google::protobuf::internal::WireFormatLite;

bool RequestHeader::is_control() const {
  return op_field == kvpb::Request::kStatusFieldNumber ||
         op_field == kvpb::Request::kAdminFieldNumber ||
         op_field == kvpb::Request::kWatchCancelFieldNumber;
}

namespace {

// Whether `field` is one of kvpb::Request's `op` oneof (from the descriptor, so a new request
// type is recognized without a change here).
bool IsOpField(int field) {
  static const google::protobuf::OneofDescriptor* const op =
      kvpb::Request::descriptor()->FindOneofByName("op");
  const google::protobuf::FieldDescriptor* f =
      kvpb::Request::descriptor()->FindFieldByNumber(field);
  return f != nullptr && f->containing_oneof() == op;
}

}  // namespace

Result<RequestHeader> PeekRequestHeader(std::string_view payload) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(payload.data()),
                                            static_cast<int>(payload.size()));
  RequestHeader h;
  for (;;) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) {
      // The end of the input, or a malformed tag before it.
      if (!in.ConsumedEntireMessage()) {
        return Status::InvalidArgument("malformed request: bad field tag");
      }
      return h;
    }
    const int field = static_cast<int>(WireFormatLite::GetTagFieldNumber(tag));
    const auto type = WireFormatLite::GetTagWireType(tag);
    if (field == kvpb::Request::kRequestIdFieldNumber &&
        type == WireFormatLite::WIRETYPE_VARINT) {
      if (!in.ReadVarint64(&h.request_id)) {
        return Status::InvalidArgument("malformed request: truncated request id");
      }
      continue;
    }
    if (field == kvpb::Request::kTimeoutMsFieldNumber &&
        type == WireFormatLite::WIRETYPE_VARINT) {
      uint32_t t = 0;
      if (!in.ReadVarint32(&t)) return Status::InvalidArgument("malformed request: truncated timeout");
      h.timeout_ms = t;
      continue;
    }
    if (type == WireFormatLite::WIRETYPE_LENGTH_DELIMITED && IsOpField(field)) {
      h.op_field = field;
    }
    // Skips without copying (a length-delimited field is a seek).
    if (!WireFormatLite::SkipField(&in, tag)) {
      return Status::InvalidArgument("malformed request: truncated field " +
                                     std::to_string(field));
    }
  }
}

}  // namespace ringkv::server
