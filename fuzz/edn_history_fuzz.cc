// Fuzz target: the EDN history reader of the Jepsen checker (jepsen/checker/history_io.h) and
// the EDN parser under it. Properties: no crash; every value parsed writes back out and parses
// to an equal value (edn.h's promise); a history parsed writes out and reads back the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "jepsen/checker/edn.h"
#include "jepsen/checker/history_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringkv::jepsen;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto values = edn::ParseAll(text);
  if (values.ok()) {
    for (const auto& v : *values) {
      auto again = edn::ParseAll(edn::Write(v));
      if (!again.ok() || again->size() != 1 || !((*again)[0] == v)) std::abort();
    }
  }
  auto history = HistoryFromEdn(text);
  if (history.ok()) {
    auto round = HistoryFromEdn(WriteHistoryEdn(*history));
    if (!round.ok() || WriteHistoryEdn(*round) != WriteHistoryEdn(*history)) std::abort();
    WriteHistoryJson(*history);
  }
  HistoryFromEtcdLog(text).status().IgnoreError();  // the other input format; errors expected
  return 0;
}
