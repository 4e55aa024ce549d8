// A strict parser of the Prometheus text exposition format (0.0.4), for tests that scrape
// /metrics: every line must parse, every sample must belong to a family declared by a TYPE line
// before it, names and label names must be valid, a series must not repeat, counters end in
// _total, and histograms must be complete (increasing `le`, cumulative counts, +Inf == count).
//
// Thread-safety: pure functions.
#ifndef RINGKV_TESTS_TESTUTIL_PROMETHEUS_TEXT_H_
#define RINGKV_TESTS_TESTUTIL_PROMETHEUS_TEXT_H_

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ringkv::testutil {

struct PromSample {
  std::string name;  // as written (with _bucket/_sum/_count for histograms)
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct PromFamily {
  std::string type;  // counter, gauge, histogram, summary, untyped
  std::string help;
  std::vector<PromSample> samples;
};

struct PromParseResult {
  std::map<std::string, PromFamily> families;
  std::string error;  // empty when the whole text is valid
  bool ok() const { return error.empty(); }

  // The value of the one sample of `name` whose labels include `match`; nullopt if none.
  std::optional<double> Value(const std::string& family, const std::string& name,
                              const std::map<std::string, std::string>& match = {}) const {
    auto it = families.find(family);
    if (it == families.end()) return std::nullopt;
    for (const auto& s : it->second.samples) {
      if (s.name != name) continue;
      bool all = true;
      for (const auto& [k, v] : match) {
        auto l = s.labels.find(k);
        all = all && l != s.labels.end() && l->second == v;
      }
      if (all) return s.value;
    }
    return std::nullopt;
  }
};

namespace prom_internal {

inline bool ValidMetricName(const std::string& n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
          (i > 0 && c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

inline bool ValidLabelName(const std::string& n) {
  return ValidMetricName(n) && n.find(':') == std::string::npos && n.rfind("__", 0) != 0;
}

inline bool ParseValue(const std::string& s, double* out) {
  if (s == "+Inf") *out = INFINITY;
  else if (s == "-Inf") *out = -INFINITY;
  else if (s == "NaN") *out = NAN;
  else {
    if (s.empty()) return false;
    char* end = nullptr;
    *out = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size()) return false;
  }
  return true;
}

// Parses `{a="x",b="y"}` starting at line[*pos] == '{'; advances past '}'.
inline std::string ParseLabels(const std::string& line, size_t* pos,
                               std::map<std::string, std::string>* labels) {
  size_t i = *pos + 1;
  while (i < line.size() && line[i] != '}') {
    size_t eq = line.find('=', i);
    if (eq == std::string::npos) return "label without '='";
    std::string name = line.substr(i, eq - i);
    if (!ValidLabelName(name)) return "invalid label name '" + name + "'";
    if (eq + 1 >= line.size() || line[eq + 1] != '"') return "label value not quoted";
    std::string value;
    size_t j = eq + 2;
    for (;; ++j) {
      if (j >= line.size()) return "unterminated label value";
      char c = line[j];
      if (c == '"') break;
      if (c == '\\') {
        if (j + 1 >= line.size()) return "dangling escape";
        char e = line[++j];
        if (e == 'n') value += '\n';
        else if (e == '\\' || e == '"') value += e;
        else return std::string("invalid escape \\") + e;
      } else {
        value += c;
      }
    }
    if (!labels->emplace(name, value).second) return "duplicate label " + name;
    i = j + 1;
    if (i < line.size() && line[i] == ',') ++i;
    else if (i >= line.size() || line[i] != '}') return "expected ',' or '}' after a label";
  }
  if (i >= line.size()) return "unterminated label set";
  *pos = i + 1;
  return "";
}

inline std::string FamilyOf(const std::string& sample, const std::map<std::string, PromFamily>& f) {
  if (f.count(sample) > 0) return sample;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string s(suffix);
    if (sample.size() > s.size() && sample.compare(sample.size() - s.size(), s.size(), s) == 0) {
      std::string base = sample.substr(0, sample.size() - s.size());
      auto it = f.find(base);
      if (it != f.end() && (it->second.type == "histogram" || it->second.type == "summary")) {
        return base;
      }
    }
  }
  return "";
}

inline std::string CheckHistogram(const std::string& name, const PromFamily& f) {
  // Group by labels without `le`.
  struct Series {
    std::vector<std::pair<double, double>> buckets;
    std::optional<double> count, sum;
  };
  std::map<std::map<std::string, std::string>, Series> series;
  for (const auto& s : f.samples) {
    auto labels = s.labels;
    if (s.name == name + "_bucket") {
      auto le = labels.find("le");
      if (le == labels.end()) return name + "_bucket without le";
      double bound;
      if (!ParseValue(le->second, &bound)) return name + ": bad le " + le->second;
      labels.erase(le);
      series[labels].buckets.push_back({bound, s.value});
    } else if (s.name == name + "_count") {
      series[labels].count = s.value;
    } else if (s.name == name + "_sum") {
      series[labels].sum = s.value;
    } else {
      return "histogram " + name + " has a sample named " + s.name;
    }
  }
  for (const auto& [labels, s] : series) {
    if (s.buckets.empty() || !s.count || !s.sum) return name + ": incomplete histogram series";
    for (size_t i = 1; i < s.buckets.size(); ++i) {
      if (!(s.buckets[i].first > s.buckets[i - 1].first)) return name + ": le not increasing";
      if (s.buckets[i].second < s.buckets[i - 1].second) return name + ": counts not cumulative";
    }
    if (!std::isinf(s.buckets.back().first)) return name + ": no +Inf bucket";
    if (s.buckets.back().second != *s.count) return name + ": +Inf bucket != _count";
  }
  return "";
}

}  // namespace prom_internal

inline PromParseResult ParsePrometheusText(const std::string& text) {
  using namespace prom_internal;
  PromParseResult r;
  std::set<std::string> series_seen;
  std::set<std::string> help_seen;
  size_t line_no = 0;
  size_t start = 0;
  auto fail = [&](const std::string& why, const std::string& line) {
    r.error = "line " + std::to_string(line_no) + ": " + why + ": " + line;
    return r;
  };
  if (!text.empty() && text.back() != '\n') {
    r.error = "text does not end in a newline";
    return r;
  }
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string line = text.substr(start, nl - start);
    start = nl + 1;
    ++line_no;
    if (line.empty()) return fail("empty line", line);
    if (line[0] == '#') {
      if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
        bool help = line[2] == 'H';
        size_t sp = line.find(' ', 7);
        std::string name = line.substr(7, sp == std::string::npos ? std::string::npos : sp - 7);
        if (!ValidMetricName(name)) return fail("invalid metric name", line);
        std::string rest = sp == std::string::npos ? "" : line.substr(sp + 1);
        if (help) {
          if (!help_seen.insert(name).second) return fail("second HELP", line);
          r.families[name].help = rest;
        } else {
          static const std::set<std::string> kTypes = {"counter", "gauge", "histogram",
                                                       "summary", "untyped"};
          if (kTypes.count(rest) == 0) return fail("unknown type", line);
          PromFamily& f = r.families[name];
          if (!f.type.empty()) return fail("second TYPE", line);
          if (!f.samples.empty()) return fail("TYPE after samples", line);
          if (rest == "counter" &&
              (name.size() < 6 || name.compare(name.size() - 6, 6, "_total") != 0)) {
            return fail("counter name does not end in _total", line);
          }
          f.type = rest;
        }
      }
      continue;
    }
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    PromSample s;
    s.name = line.substr(0, i);
    if (!ValidMetricName(s.name)) return fail("invalid metric name", line);
    if (i < line.size() && line[i] == '{') {
      std::string err = ParseLabels(line, &i, &s.labels);
      if (!err.empty()) return fail(err, line);
    }
    if (i >= line.size() || line[i] != ' ') return fail("expected a space before the value", line);
    std::string rest = line.substr(i + 1);
    size_t sp = rest.find(' ');
    std::string value = rest.substr(0, sp);
    if (sp != std::string::npos) {
      std::string ts = rest.substr(sp + 1);
      if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string::npos) {
        return fail("bad timestamp", line);
      }
    }
    if (!ParseValue(value, &s.value)) return fail("bad value", line);
    std::string fam = FamilyOf(s.name, r.families);
    if (fam.empty() || r.families[fam].type.empty()) return fail("sample without TYPE", line);
    std::string key = s.name;
    for (const auto& [k, v] : s.labels) key += "\x01" + k + "=" + v;
    if (!series_seen.insert(key).second) return fail("duplicate series", line);
    r.families[fam].samples.push_back(std::move(s));
  }
  for (const auto& [name, f] : r.families) {
    if (f.type.empty()) {
      r.error = "family " + name + " has HELP but no TYPE";
      return r;
    }
    if (f.type == "histogram") {
      std::string err = prom_internal::CheckHistogram(name, f);
      if (!err.empty()) {
        r.error = err;
        return r;
      }
    }
  }
  return r;
}

}  // namespace ringkv::testutil

#endif  // RINGKV_TESTS_TESTUTIL_PROMETHEUS_TEXT_H_
