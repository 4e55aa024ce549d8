// Helpers for writing small histories in tests: H("0 invoke write 1", "0 ok write 1", ...).
#ifndef RINGKV_TESTS_JEPSEN_TEST_HISTORIES_H_
#define RINGKV_TESTS_JEPSEN_TEST_HISTORIES_H_

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "jepsen/checker/history_io.h"

namespace ringkv::jepsen::testing {

// Each line: "<process> <type> <f> <edn value> [key]", e.g. "1 ok cas [1 2]" or
// "2 ok read [1 2] k" (the key is the last token when the line has five tokens outside [..]).
inline History H(std::initializer_list<std::string> lines) {
  std::string edn;
  for (const std::string& line : lines) {
    // process, type, f, then the rest is value [+ key].
    size_t a = line.find(' '), b = line.find(' ', a + 1), c = line.find(' ', b + 1);
    std::string rest = c == std::string::npos ? "nil" : line.substr(c + 1);
    std::string key;
    size_t close = rest.find_last_of("])}");
    size_t last_space = rest.find_last_of(' ');
    if (last_space != std::string::npos && (close == std::string::npos || last_space > close)) {
      key = rest.substr(last_space + 1);
      rest = rest.substr(0, last_space);
    }
    edn += "{:process " + line.substr(0, a) + ", :type :" + line.substr(a + 1, b - a - 1) +
           ", :f :" + line.substr(b + 1, c - b - 1) + ", :value " + rest +
           (key.empty() ? "" : ", :key \"" + key + "\"") + "}\n";
  }
  auto h = HistoryFromEdn(edn);
  EXPECT_TRUE(h.ok()) << h.status() << "\n" << edn;
  return h.ok() ? *h : History{};
}

}  // namespace ringkv::jepsen::testing

#endif  // RINGKV_TESTS_JEPSEN_TEST_HISTORIES_H_
