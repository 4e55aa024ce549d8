// Byte-bounded pages of one group's user data read at a ReadSnapshot, and the apply state at
// that snapshot: what `kvctl backup save` streams (store/backup_cursors.h). A ReadSnapshot is
// a consistent view of the whole engine, and each apply writes its effects together with the
// apply state in one batch, so every page read at one snapshot belongs to the state at the
// applied index ReadApplyStateAt returns.
//
// Thread-safety: pure functions over a thread-safe Engine; the snapshot must outlive the call.
#ifndef RINGKV_STORAGE_DATA_PAGES_H_
#define RINGKV_STORAGE_DATA_PAGES_H_

#include <cstddef>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "storage/engine.h"
#include "storage/kv_state.h"

namespace ringkv::storage {

struct DataPage {
  std::vector<KvPair> kvs;  // in key order
  bool done = false;        // no user key of the group after the last of kvs
};

// The user keys of `group` after `start_after` (empty: from the first key) in key order, at
// `snapshot`, until their key and value bytes reach `max_bytes` (always at least one pair when
// one is left). Corruption naming the key on a bad record.
Result<DataPage> ReadDataPage(const Engine& engine, GroupId group, const ReadSnapshot& snapshot,
                              std::string_view start_after, size_t max_bytes);

// The apply state of `group` at `snapshot` (zero when the group has none).
Result<ApplyState> ReadApplyStateAt(const Engine& engine, GroupId group,
                                    const ReadSnapshot& snapshot);

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_DATA_PAGES_H_
