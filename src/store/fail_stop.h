// FailStop: how the store's parts stop the node on a failed write on the Raft log or apply path
// (style tier 3: the log state is unknown, so stop and recover from disk on restart).
//
// Thread-safety: any thread.
#ifndef RINGKV_STORE_FAIL_STOP_H_
#define RINGKV_STORE_FAIL_STOP_H_

#include <glog/logging.h>

#include "common/status.h"

namespace ringkv::store {

// Logs `s` as a storage failure while doing `what`, and stops the process.
inline void FailStop(const ringkv::Status& s, const char* what) {
  LOG(FATAL) << "storage failure while " << what << ": " << s.ToString()
             << "; stopping so that nothing wrong is served (restart recovers from disk)";
}

}  // namespace ringkv::store

#endif  // RINGKV_STORE_FAIL_STOP_H_
