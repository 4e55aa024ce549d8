// The file format of `kvctl backup save|restore|verify` (docs/operations.md, "Backups"): a
// logical backup, every shard's user keys as they were at one applied index of that shard.
//
// Byte layout (integers big-endian):
//   magic          8 bytes "RINGKVBK"
//   version        u32, kFormatVersion; a reader refuses a newer one
//   header         u32 length N, then N bytes: backuppb.Header (cluster id, ring config, shard
//                  count, per shard its applied index, keys, bytes and chunks; totals)
//   chunks         each u32 length L (0 < L <= kMaxRecordBytes), then L bytes: backuppb.Chunk
//                  (one shard's keys in key order; a shard's chunks are contiguous, shards in
//                  header order)
//   end            u32 0
//   checksum       32 bytes: SHA-256 of every byte before it (OpenSSL's libcrypto)
// Nothing follows. The header comes first, so the writer stages the chunks in a body file
// beside the target and assembles the file when every shard is read (needing the backup's size
// twice on disk meanwhile); the target is replaced atomically (write, fsync, rename).
//
// Thread-safety: a writer or reader is used by one thread; the functions are pure.
#ifndef RINGKV_TOOLS_KVCTL_BACKUP_FILE_H_
#define RINGKV_TOOLS_KVCTL_BACKUP_FILE_H_

#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"
#include "proto/backup.pb.h"

namespace ringkv::kvctl::backup {

inline constexpr std::string_view kMagic = "RINGKVBK";
inline constexpr uint32_t kFormatVersion = 1;
// Largest header or chunk record a reader accepts (a writer keeps chunks near 1 MiB).
inline constexpr uint32_t kMaxRecordBytes = uint32_t{64} << 20;

// Incremental SHA-256 (OpenSSL EVP).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view bytes);
  // The digest of everything updated so far. REQUIRES: called once.
  std::array<uint8_t, 32> Final();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string HexDigest(const std::array<uint8_t, 32>& d);

struct FinishedFile {
  std::string sha256;  // hex
  uint64_t bytes = 0;  // file size
};

class BackupWriter {
 public:
  // A writer of `path`; nothing appears there before Finish. IOError when the directory is
  // not writable.
  static Result<std::unique_ptr<BackupWriter>> Create(const std::string& path);
  // Removes the staged body file (and, on failure, what Finish had begun).
  ~BackupWriter();

  // Starts shard `shard`'s chunks. REQUIRES: no shard begun and not ended.
  Status BeginShard(uint64_t shard);
  // Appends a chunk of the current shard (chunk.shard() must name it) and counts its keys.
  Status AddChunk(const backuppb::Chunk& chunk);
  // Drops the current shard's chunks (its read failed half way; it is read again).
  Status AbortShard();
  // Ends the current shard; `info` (applied index, node, time) gets its keys, bytes and chunks
  // and joins the header.
  Status EndShard(backuppb::ShardInfo info);
  // Writes `path`: `header` with the ended shards and totals, the chunks, the end marker and
  // the SHA-256; fsyncs and renames it into place.
  Result<FinishedFile> Finish(backuppb::Header header);

 private:
  BackupWriter(std::string path, std::string body_path, std::FILE* body);

  const std::string path_;
  const std::string body_path_;
  std::FILE* body_;
  std::optional<uint64_t> shard_;  // the shard being written
  long shard_start_ = 0;           // body offset where its chunks begin
  backuppb::ShardInfo counts_;     // its keys, bytes, chunks so far
  backuppb::Header done_;          // shards ended so far, with totals
};

class BackupReader {
 public:
  // Opens `path` and reads the magic, version and header. NotFound when there is no such file;
  // InvalidArgument when it is not a backup or of a newer format; Corruption when the header
  // is damaged.
  static Result<std::unique_ptr<BackupReader>> Open(const std::string& path);
  ~BackupReader();

  const backuppb::Header& header() const { return header_; }
  // The next chunk, or nullopt after the last one; at that point the end marker, the SHA-256
  // and the absence of trailing bytes have been checked. Corruption otherwise (truncated file,
  // bad length, undecodable chunk, checksum mismatch).
  Result<std::optional<backuppb::Chunk>> Next();
  // The file's SHA-256 (hex), once Next returned nullopt.
  const std::string& sha256() const { return sha256_; }
  uint64_t bytes_read() const { return offset_; }

 private:
  BackupReader(std::string path, std::FILE* f) : path_(std::move(path)), f_(f) {}
  // Reads exactly `n` bytes (hashing them unless `hash` is false). Corruption at EOF.
  Status ReadExact(size_t n, std::string* out, const char* what, bool hash = true);

  const std::string path_;
  std::FILE* f_;
  Sha256 sha_;
  backuppb::Header header_;
  uint64_t offset_ = 0;
  bool ended_ = false;
  std::string sha256_;
};

// What `verify` checked.
struct VerifyReport {
  backuppb::Header header;
  std::string sha256;
  uint64_t file_bytes = 0;
};

// Reads and checks a whole backup without a cluster: the format and header (every shard
// 1..shard_count exactly once; the ring config decodes and has that many shards), each chunk
// (its shard is the current one in header order; keys non-empty and strictly increasing within
// a shard; every key belongs to its shard by the ring), each shard's and the total counts,
// the end marker, the SHA-256 and that nothing follows. Errors as BackupReader, Corruption
// naming the first problem.
Result<VerifyReport> VerifyFile(const std::string& path);

}  // namespace ringkv::kvctl::backup

#endif  // RINGKV_TOOLS_KVCTL_BACKUP_FILE_H_
