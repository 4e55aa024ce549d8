// Reading and writing histories: Jepsen EDN (one vector/list of operation maps, or one map per
// line), Porcupine's Jepsen etcd log lines, and output as Jepsen `history.edn` and JSON.
//
// Thread-safety: pure functions, reentrant.
#ifndef RINGKV_JEPSEN_CHECKER_HISTORY_IO_H_
#define RINGKV_JEPSEN_CHECKER_HISTORY_IO_H_

#include <string>
#include <string_view>

#include "common/result.h"
#include "jepsen/checker/history.h"

namespace ringkv::jepsen {

// Parses EDN text holding either one vector/list of operation maps or a sequence of top-level
// maps. Each map needs :type and :process (an integer or :nemesis); :f, :value, :key (string or
// integer, kept as its decimal text), :time, :index and :version are optional. A missing :index
// becomes the event's position. Returns kInvalidArgument on syntax errors or a malformed op.
Result<History> HistoryFromEdn(std::string_view text);

// Parses Porcupine's etcd logs: lines `INFO jepsen.util - <process>\t:<type>\t:<f>\t<value>`
// where <value> is EDN; other lines are ignored. Returns kInvalidArgument on a bad jepsen.util
// line or when no such line exists.
Result<History> HistoryFromEtcdLog(std::string_view text);

// Reads `path` and parses it as an etcd log when it contains "jepsen.util -", else as EDN.
// Returns kNotFound/kIOError when the file can't be read, or the parser's error.
Result<History> ReadHistoryFile(const std::string& path);

// Jepsen's history.edn: one map per line with :type :f :value :process :time :index (and :key,
// :version when present). HistoryFromEdn(WriteHistoryEdn(h)) == h.
std::string WriteHistoryEdn(const History& history);

// The same history as a JSON array of objects {"index", "type", "f", "value", "process", "time",
// "key"?, "version"?}; keywords become strings, nil becomes null, the nemesis process is
// "nemesis", maps with non-string keys become arrays of [key, value] pairs. Bytes that are not
// valid UTF-8 are written as U+FFFD.
std::string WriteHistoryJson(const History& history);

}  // namespace ringkv::jepsen

#endif  // RINGKV_JEPSEN_CHECKER_HISTORY_IO_H_
