#include "backup_file.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "common/coding.h"
#include "common/status_macros.h"
#include "ring/hash_ring.h"
#include "ring/ring_config.h"

namespace ringkv::kvctl::backup {
namespace {

Status Errno(const std::string& what) {
  return Status::IOError(what + ": " + std::strerror(errno));
}

std::string Be32(uint32_t v) {
  std::string s;
  PutFixed32BE(&s, v);
  return s;
}

// A temporary file beside `path` (same directory, so rename is atomic), open for writing.
Result<std::pair<std::string, std::FILE*>> TempBeside(const std::string& path, const char* tag) {
  std::string name = path + "." + tag + "-XXXXXX";
  std::vector<char> buf(name.begin(), name.end());
  buf.push_back('\0');
  int fd = ::mkstemp(buf.data());
  if (fd < 0) return Errno("cannot create a temporary file beside " + path);
  std::FILE* f = ::fdopen(fd, "w+b");
  if (f == nullptr) {
    ::close(fd);
    return Errno("fdopen " + std::string(buf.data()));
  }
  return std::make_pair(std::string(buf.data()), f);
}

Status WriteAll(std::FILE* f, std::string_view bytes, const std::string& path) {
  if (bytes.empty()) return Status::OK();
  if (std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    return Errno("writing " + path);
  }
  return Status::OK();
}

Status SyncDir(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Errno("opening directory " + dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::OK() : Errno("fsync of directory " + dir);
}

uint64_t EntryBytes(const backuppb::Entry& e) { return e.key().size() + e.value().size(); }

}  // namespace

// ---- Sha256 -------------------------------------------------------------------------------

struct Sha256::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr);
}

Sha256::~Sha256() = default;

void Sha256::Update(std::string_view bytes) {
  EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size());
}

std::array<uint8_t, 32> Sha256::Final() {
  std::array<uint8_t, 32> d{};
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_->md, d.data(), &n);
  return d;
}

std::string HexDigest(const std::array<uint8_t, 32>& d) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (uint8_t b : d) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

// ---- BackupWriter -------------------------------------------------------------------------

Result<std::unique_ptr<BackupWriter>> BackupWriter::Create(const std::string& path) {
  auto body = TempBeside(path, "body");
  if (!body.ok()) return body.status();
  return std::unique_ptr<BackupWriter>(new BackupWriter(path, body->first, body->second));
}

BackupWriter::BackupWriter(std::string path, std::string body_path, std::FILE* body)
    : path_(std::move(path)), body_path_(std::move(body_path)), body_(body) {}

BackupWriter::~BackupWriter() {
  if (body_ != nullptr) std::fclose(body_);
  std::error_code ignored;
  std::filesystem::remove(body_path_, ignored);
}

Status BackupWriter::BeginShard(uint64_t shard) {
  if (shard_) return Status::FailedPrecondition("shard " + std::to_string(*shard_) + " not ended");
  shard_ = shard;
  shard_start_ = std::ftell(body_);
  if (shard_start_ < 0) return Errno("ftell " + body_path_);
  counts_.Clear();
  return Status::OK();
}

Status BackupWriter::AddChunk(const backuppb::Chunk& chunk) {
  if (!shard_ || chunk.shard() != *shard_) {
    return Status::FailedPrecondition("chunk of shard " + std::to_string(chunk.shard()) +
                                      " outside its shard");
  }
  if (chunk.entries_size() == 0) return Status::OK();
  const std::string bytes = chunk.SerializeAsString();
  if (bytes.size() > kMaxRecordBytes) {
    return Status::InvalidArgument("chunk of " + std::to_string(bytes.size()) + " bytes");
  }
  RETURN_IF_ERROR(WriteAll(body_, Be32(static_cast<uint32_t>(bytes.size())), body_path_));
  RETURN_IF_ERROR(WriteAll(body_, bytes, body_path_));
  counts_.set_chunks(counts_.chunks() + 1);
  counts_.set_keys(counts_.keys() + chunk.entries_size());
  uint64_t b = 0;
  for (const auto& e : chunk.entries()) b += EntryBytes(e);
  counts_.set_bytes(counts_.bytes() + b);
  return Status::OK();
}

Status BackupWriter::AbortShard() {
  if (!shard_) return Status::OK();
  if (std::fflush(body_) != 0) return Errno("flushing " + body_path_);
  if (::ftruncate(::fileno(body_), shard_start_) != 0) return Errno("truncating " + body_path_);
  if (std::fseek(body_, shard_start_, SEEK_SET) != 0) return Errno("seeking " + body_path_);
  shard_.reset();
  counts_.Clear();
  return Status::OK();
}

Status BackupWriter::EndShard(backuppb::ShardInfo info) {
  if (!shard_ || info.shard() != *shard_) {
    return Status::FailedPrecondition("ending shard " + std::to_string(info.shard()) +
                                      " that was not begun");
  }
  info.set_keys(counts_.keys());
  info.set_bytes(counts_.bytes());
  info.set_chunks(counts_.chunks());
  done_.set_total_keys(done_.total_keys() + info.keys());
  done_.set_total_bytes(done_.total_bytes() + info.bytes());
  *done_.add_shards() = std::move(info);
  shard_.reset();
  return Status::OK();
}

Result<FinishedFile> BackupWriter::Finish(backuppb::Header header) {
  if (shard_) return Status::FailedPrecondition("shard " + std::to_string(*shard_) + " not ended");
  *header.mutable_shards() = done_.shards();
  header.set_total_keys(done_.total_keys());
  header.set_total_bytes(done_.total_bytes());
  if (std::fflush(body_) != 0) return Errno("flushing " + body_path_);
  if (std::fseek(body_, 0, SEEK_SET) != 0) return Errno("seeking " + body_path_);

  auto out = TempBeside(path_, "tmp");
  if (!out.ok()) return out.status();
  auto [tmp_path, f] = *out;
  auto fail = [&, tmp = tmp_path, file = f](Status s) {
    std::fclose(file);
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    return s;
  };
  Sha256 sha;
  uint64_t size = 0;
  auto put = [&](std::string_view bytes) {
    sha.Update(bytes);
    size += bytes.size();
    return WriteAll(f, bytes, tmp_path);
  };
  const std::string header_bytes = header.SerializeAsString();
  const std::string version = Be32(kFormatVersion);
  const std::string header_len = Be32(static_cast<uint32_t>(header_bytes.size()));
  for (std::string_view part : {kMagic, std::string_view(version), std::string_view(header_len),
                                std::string_view(header_bytes)}) {
    if (Status s = put(part); !s.ok()) return fail(s);
  }
  std::vector<char> buf(1 << 20);
  for (;;) {
    const size_t n = std::fread(buf.data(), 1, buf.size(), body_);
    if (n > 0) {
      if (Status s = put(std::string_view(buf.data(), n)); !s.ok()) return fail(s);
    }
    if (n < buf.size()) {
      if (std::ferror(body_)) return fail(Errno("reading " + body_path_));
      break;
    }
  }
  if (Status s = put(Be32(0)); !s.ok()) return fail(s);
  const std::array<uint8_t, 32> raw = sha.Final();
  const std::string digest = HexDigest(raw);
  if (Status s = WriteAll(f, std::string_view(reinterpret_cast<const char*>(raw.data()), 32), tmp_path);
      !s.ok()) {
    return fail(s);
  }
  size += 32;
  if (std::fflush(f) != 0 || ::fsync(::fileno(f)) != 0) return fail(Errno("syncing " + tmp_path));
  if (std::fclose(f) != 0) {
    std::error_code ignored;
    std::filesystem::remove(tmp_path, ignored);
    return Errno("closing " + tmp_path);
  }
  if (std::rename(tmp_path.c_str(), path_.c_str()) != 0) {
    Status s = Errno("renaming " + tmp_path + " to " + path_);
    std::error_code ignored;
    std::filesystem::remove(tmp_path, ignored);
    return s;
  }
  RETURN_IF_ERROR(SyncDir(path_));
  return FinishedFile{digest, size};
}

// ---- BackupReader -------------------------------------------------------------------------

Result<std::unique_ptr<BackupReader>> BackupReader::Open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    if (errno == ENOENT) return Status::NotFound("no such file: " + path);
    return Errno("opening " + path);
  }
  std::unique_ptr<BackupReader> r(new BackupReader(path, f));
  std::string magic, version, len, header;
  Status s = r->ReadExact(kMagic.size(), &magic, "the magic");
  if (!s.ok() || magic != kMagic) {
    return Status::InvalidArgument(path + " is not a RingKV backup (it does not start with \"" +
                                   std::string(kMagic) + "\")");
  }
  RETURN_IF_ERROR(r->ReadExact(4, &version, "the format version"));
  const uint32_t v = DecodeFixed32BE(version.data());
  if (v == 0) return Status::Corruption(path + ": format version 0");
  if (v > kFormatVersion) {
    return Status::InvalidArgument(path + " has backup format " + std::to_string(v) +
                                   ", newer than this kvctl reads (" +
                                   std::to_string(kFormatVersion) + "); use a newer kvctl");
  }
  RETURN_IF_ERROR(r->ReadExact(4, &len, "the header length"));
  const uint32_t n = DecodeFixed32BE(len.data());
  if (n > kMaxRecordBytes) {
    return Status::Corruption(path + ": header length " + std::to_string(n) + " is implausible");
  }
  RETURN_IF_ERROR(r->ReadExact(n, &header, "the header"));
  if (!r->header_.ParseFromString(header)) {
    return Status::Corruption(path + ": the header does not decode");
  }
  return r;
}

BackupReader::~BackupReader() { std::fclose(f_); }

Status BackupReader::ReadExact(size_t n, std::string* out, const char* what, bool hash) {
  out->resize(n);
  const size_t got = n == 0 ? 0 : std::fread(out->data(), 1, n, f_);
  if (got != n) {
    if (std::ferror(f_)) return Errno("reading " + path_);
    return Status::Corruption(path_ + " is truncated: it ends at byte " +
                              std::to_string(offset_ + got) + " inside " + what);
  }
  if (hash) sha_.Update(*out);
  offset_ += n;
  return Status::OK();
}

Result<std::optional<backuppb::Chunk>> BackupReader::Next() {
  if (ended_) return std::optional<backuppb::Chunk>();
  std::string len, body;
  RETURN_IF_ERROR(ReadExact(4, &len, "a chunk length (the end marker is missing)"));
  const uint32_t n = DecodeFixed32BE(len.data());
  if (n == 0) {
    const std::string computed = HexDigest(sha_.Final());
    std::string stored;
    RETURN_IF_ERROR(ReadExact(32, &stored, "the SHA-256", /*hash=*/false));
    std::array<uint8_t, 32> raw{};
    std::memcpy(raw.data(), stored.data(), 32);
    if (HexDigest(raw) != computed) {
      return Status::Corruption(path_ + ": SHA-256 mismatch: the file says " + HexDigest(raw) +
                                ", its contents hash to " + computed +
                                " (the file was changed or damaged)");
    }
    if (std::fgetc(f_) != EOF) {
      return Status::Corruption(path_ + ": bytes follow the checksum at byte " +
                                std::to_string(offset_));
    }
    ended_ = true;
    sha256_ = computed;
    return std::optional<backuppb::Chunk>();
  }
  if (n > kMaxRecordBytes) {
    return Status::Corruption(path_ + ": chunk length " + std::to_string(n) + " at byte " +
                              std::to_string(offset_ - 4) + " is implausible");
  }
  RETURN_IF_ERROR(ReadExact(n, &body, "a chunk"));
  backuppb::Chunk chunk;
  if (!chunk.ParseFromString(body)) {
    return Status::Corruption(path_ + ": the chunk at byte " + std::to_string(offset_ - n) +
                              " does not decode");
  }
  return std::optional<backuppb::Chunk>(std::move(chunk));
}

// ---- VerifyFile ---------------------------------------------------------------------------

Result<VerifyReport> VerifyFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<BackupReader> r, BackupReader::Open(path));
  const backuppb::Header& h = r->header();
  auto bad = [&](const std::string& why) { return Status::Corruption(path + ": " + why); };
  Result<ring::RingConfig> ring_config = ring::RingConfig::Decode(h.ring_config());
  if (!ring_config.ok()) return bad("the ring config does not decode: " + ring_config.status().ToString());
  Result<ring::HashRing> ring = ring::HashRing::Create(*ring_config);
  if (!ring.ok()) return bad("the ring config is invalid: " + ring.status().ToString());
  if (h.shard_count() == 0 || ring->num_shards() != h.shard_count()) {
    return bad("shard count " + std::to_string(h.shard_count()) + " but the ring has " +
               std::to_string(ring->num_shards()));
  }
  if (h.shards_size() != static_cast<int>(h.shard_count())) {
    return bad("the header lists " + std::to_string(h.shards_size()) + " shards of " +
               std::to_string(h.shard_count()));
  }
  std::vector<bool> seen(h.shard_count() + 1, false);
  uint64_t keys_total = 0, bytes_total = 0;
  for (const auto& s : h.shards()) {
    if (s.shard() == 0 || s.shard() > h.shard_count() || seen[s.shard()]) {
      return bad("the header lists shard " + std::to_string(s.shard()) +
                 " twice or out of range");
    }
    seen[s.shard()] = true;
    keys_total += s.keys();
    bytes_total += s.bytes();
  }
  if (keys_total != h.total_keys() || bytes_total != h.total_bytes()) {
    return bad("the header's totals do not add up over its shards");
  }

  // Walk the chunks: shards in header order, each shard's counts checked when it is left.
  int pos = -1;  // index into h.shards() of the current shard
  backuppb::ShardInfo counted;
  std::string last_key;
  auto close_shard = [&]() -> Status {
    if (pos < 0) return Status::OK();
    const backuppb::ShardInfo& want = h.shards(pos);
    if (counted.keys() != want.keys() || counted.bytes() != want.bytes() ||
        counted.chunks() != want.chunks()) {
      return bad("shard " + std::to_string(want.shard()) + " holds " +
                 std::to_string(counted.keys()) + " keys / " + std::to_string(counted.bytes()) +
                 " bytes / " + std::to_string(counted.chunks()) + " chunks, the header says " +
                 std::to_string(want.keys()) + " / " + std::to_string(want.bytes()) + " / " +
                 std::to_string(want.chunks()));
    }
    return Status::OK();
  };
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<backuppb::Chunk> chunk, r->Next());
    if (!chunk) break;
    if (pos < 0 || chunk->shard() != h.shards(pos).shard()) {
      // Moving on: the shards skipped (no keys) must have none.
      for (;;) {
        RETURN_IF_ERROR(close_shard());
        ++pos;
        counted.Clear();
        last_key.clear();
        if (pos >= h.shards_size()) {
          return bad("a chunk of shard " + std::to_string(chunk->shard()) +
                     " is out of the header's order");
        }
        if (h.shards(pos).shard() == chunk->shard()) break;
      }
    }
    if (chunk->entries_size() == 0) return bad("an empty chunk of shard " + std::to_string(chunk->shard()));
    counted.set_chunks(counted.chunks() + 1);
    for (const auto& e : chunk->entries()) {
      if (e.key().empty()) return bad("an empty key in shard " + std::to_string(chunk->shard()));
      if (counted.keys() > 0 && e.key() <= last_key) {
        return bad("keys of shard " + std::to_string(chunk->shard()) + " out of order");
      }
      if (ring->ShardForKey(e.key()).value() != chunk->shard()) {
        return bad("a key of shard " + std::to_string(chunk->shard()) + " belongs to shard " +
                   std::to_string(ring->ShardForKey(e.key()).value()) + " by the ring");
      }
      last_key = e.key();
      counted.set_keys(counted.keys() + 1);
      counted.set_bytes(counted.bytes() + EntryBytes(e));
    }
  }
  // The shards after the last chunk hold no keys.
  do {
    RETURN_IF_ERROR(close_shard());
    ++pos;
    counted.Clear();
  } while (pos < h.shards_size());
  return VerifyReport{h, r->sha256(), r->bytes_read()};
}

}  // namespace ringkv::kvctl::backup
