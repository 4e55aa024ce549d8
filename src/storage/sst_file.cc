#include "storage/sst_file.h"

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_writer.h>

#include <vector>

namespace ringkv::storage {
namespace {

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::OK();
  if (s.IsInvalidArgument()) return Status::InvalidArgument(what + ": " + s.ToString());
  if (s.IsCorruption()) return Status::Corruption(what + ": " + s.ToString());
  if (s.IsNotFound()) return Status::NotFound(what + ": " + s.ToString());
  return Status::IOError(what + ": " + s.ToString());
}

}  // namespace

SstFileBuilder::SstFileBuilder(std::unique_ptr<rocksdb::SstFileWriter> writer)
    : writer_(std::move(writer)) {}

SstFileBuilder::~SstFileBuilder() = default;

Result<std::unique_ptr<SstFileBuilder>> SstFileBuilder::Create(const Engine& engine, Cf cf,
                                                               const std::string& path) {
  const rocksdb::Options& options = engine.cf_options(cf);
  auto writer = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(options), options,
                                                         engine.cf_handle(cf));
  Status s = FromRocks(writer->Open(path), "open sst " + path);
  if (!s.ok()) return s;
  return std::unique_ptr<SstFileBuilder>(new SstFileBuilder(std::move(writer)));
}

Status SstFileBuilder::Add(std::string_view key, std::string_view stored_value) {
  ++count_;
  return FromRocks(writer_->Put(rocksdb::Slice(key.data(), key.size()),
                                rocksdb::Slice(stored_value.data(), stored_value.size())),
                   "sst add");
}

Status SstFileBuilder::Finish() { return FromRocks(writer_->Finish(), "sst finish"); }

Status RemoveFile(const Engine& engine, const std::string& path) {
  rocksdb::Status s = engine.env()->DeleteFile(path);
  if (s.IsNotFound()) return Status::OK();
  return FromRocks(s, "remove " + path);
}

Result<bool> FileExists(const Engine& engine, const std::string& path) {
  rocksdb::Status s = engine.env()->FileExists(path);
  if (s.ok()) return true;
  if (s.IsNotFound()) return false;
  return FromRocks(s, "stat " + path);
}

Result<std::vector<std::string>> ListDir(const Engine& engine, const std::string& dir) {
  std::vector<std::string> names;
  Status s = FromRocks(engine.env()->GetChildren(dir, &names), "list " + dir);
  if (!s.ok()) return s;
  return names;
}

Status SyncDir(const Engine& engine, const std::string& dir) {
  const std::shared_ptr<rocksdb::FileSystem>& fs = engine.env()->GetFileSystem();
  std::unique_ptr<rocksdb::FSDirectory> d;
  rocksdb::IOStatus s = fs->NewDirectory(dir, rocksdb::IOOptions(), &d, nullptr);
  if (!s.ok()) return FromRocks(s, "open dir " + dir);
  // The directory is closed by its destructor (Close is optional for FSDirectory).
  return FromRocks(d->Fsync(rocksdb::IOOptions(), nullptr), "fsync dir " + dir);
}

}  // namespace ringkv::storage
