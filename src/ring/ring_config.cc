#include "ring/ring_config.h"

#include "common/coding.h"
#include "common/crc32c.h"

namespace ringkv::ring {
namespace {

constexpr size_t kPayloadSize = 4 + 4 + 4 + 8;
constexpr size_t kEncodedSize = kPayloadSize + 4;

}  // namespace

Status RingConfig::Validate() const {
  if (version < kMinRingConfigVersion || version > kRingConfigVersion) {
    return Status::InvalidArgument("ring config: unsupported version " + std::to_string(version));
  }
  if (num_shards == 0 || num_shards > kMaxNumShards) {
    return Status::InvalidArgument("ring config: num_shards " + std::to_string(num_shards) +
                                   " not in [1, " + std::to_string(kMaxNumShards) + "]");
  }
  if (replication_factor == 0 || replication_factor > kMaxReplicationFactor) {
    return Status::InvalidArgument("ring config: replication_factor " +
                                   std::to_string(replication_factor) + " not in [1, " +
                                   std::to_string(kMaxReplicationFactor) + "]");
  }
  return Status::OK();
}

std::string RingConfig::Encode() const {
  std::string out;
  out.reserve(kEncodedSize);
  PutFixed32BE(&out, version);
  PutFixed32BE(&out, num_shards);
  PutFixed32BE(&out, replication_factor);
  PutFixed64BE(&out, hash_seed);
  PutFixed32BE(&out, crc32c::Value(out));
  return out;
}

Result<RingConfig> RingConfig::Decode(std::string_view data) {
  if (data.size() != kEncodedSize) {
    return Status::Corruption("ring config: length " + std::to_string(data.size()) + ", want " +
                              std::to_string(kEncodedSize));
  }
  const uint32_t want_crc = DecodeFixed32BE(data.data() + kPayloadSize);
  if (crc32c::Value(data.data(), kPayloadSize) != want_crc) {
    return Status::Corruption("ring config: checksum mismatch");
  }
  RingConfig config;
  std::string_view in = data;
  // Lengths were checked above, so these reads cannot fail.
  (void)GetFixed32BE(&in, &config.version);
  (void)GetFixed32BE(&in, &config.num_shards);
  (void)GetFixed32BE(&in, &config.replication_factor);
  (void)GetFixed64BE(&in, &config.hash_seed);
  Status s = config.Validate();
  if (!s.ok()) return s;
  return config;
}

std::string RingConfig::ToString() const {
  return "RingConfig{v=" + std::to_string(version) + " shards=" + std::to_string(num_shards) +
         " rf=" + std::to_string(replication_factor) + " seed=" + std::to_string(hash_seed) + "}";
}

}  // namespace ringkv::ring
