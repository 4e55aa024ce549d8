#include "storage/open_space.h"

#include <glog/logging.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "storage/engine.h"

namespace ringkv::storage {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMetadataHeadroom = uint64_t{16} << 20;

std::string MiB(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

// The data dir, or its nearest existing ancestor (a new node's dir does not exist yet).
fs::path ExistingAncestor(fs::path p) {
  std::error_code ec;
  while (!p.empty() && !fs::exists(p, ec)) {
    if (!p.has_parent_path() || p.parent_path() == p) break;
    p = p.parent_path();
  }
  return p.empty() ? fs::path(".") : p;
}

}  // namespace

Status SpaceToOpen(const EngineOptions& options, OpenSpace* out) {
  *out = OpenSpace();
  std::error_code ec;
  const fs::path db_dir = fs::path(options.path) / "db";
  if (fs::is_directory(db_dir, ec)) {
    for (const auto& entry : fs::directory_iterator(db_dir, ec)) {
      // RocksDB's write-ahead logs are <number>.log (its info logs are LOG and LOG.old.*).
      if (entry.path().extension() == ".log" && entry.is_regular_file(ec)) {
        out->wal_bytes += entry.file_size(ec);
      }
    }
  }
  const uint64_t largest_memtable = std::max<uint64_t>(
      {options.raft_write_buffer_size, options.data_write_buffer_size, uint64_t{4} << 20});
  out->needed_bytes = out->wal_bytes + out->wal_bytes / 10 + largest_memtable +
                      largest_memtable / 10 + kMetadataHeadroom;
  const fs::path probe = ExistingAncestor(options.path);
  const fs::space_info space = fs::space(probe, ec);
  if (ec) {
    return Status::IOError("cannot read the free space of " + probe.string() + ": " +
                           ec.message());
  }
  out->free_bytes = space.available;
  return Status::OK();
}

Status CheckSpaceToOpen(const EngineOptions& options) {
  OpenSpace space;
  Status s = SpaceToOpen(options, &space);
  if (!s.ok()) {
    LOG(WARNING) << "storage: not checking free space before opening " << options.path << ": "
                 << s;
    return Status::OK();
  }
  if (space.free_bytes >= space.needed_bytes) return Status::OK();
  return Status::ResourceExhausted(
      "not enough free disk space to open the data directory " + options.path + ": its file "
      "system has " + MiB(space.free_bytes) + " free, opening needs " +
      MiB(space.needed_bytes) + " (" + MiB(space.wal_bytes) +
      " of write-ahead log to replay into tables, a new log and metadata). Free at least " +
      MiB(space.needed_bytes - space.free_bytes) +
      " on that file system (or move the data directory to a larger one) and start again");
}

}  // namespace ringkv::storage
