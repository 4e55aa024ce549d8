// JSON forms of the HTTP/JSON API (http_api.h): keys and values are bytes, carried as a UTF-8
// string when they are valid UTF-8 ("key": "...") and as base64 otherwise ("key_b64": "..."),
// the same convention as kvctl -w json (tools/kvctl/format.h); requests may use either form.
// Also the transaction body of POST /v1/txn and its answer. Error answers are
// server/http_errors.h's.
//
// Thread-safety: pure functions.
#ifndef RINGKV_SERVER_HTTP_JSON_H_
#define RINGKV_SERVER_HTTP_JSON_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/result.h"
#include "ringkv/client.h"

namespace ringkv::server {

bool IsValidUtf8(std::string_view bytes);
std::string Base64Encode(std::string_view bytes);
// InvalidArgument for characters outside the alphabet or a bad length.
Result<std::string> Base64Decode(std::string_view text);

// obj[name] = bytes as UTF-8, or obj[name + "_b64"] = base64.
void SetBytes(nlohmann::json& obj, const std::string& name, std::string_view bytes);
// obj[name] (a string) or the decoded obj[name + "_b64"]; InvalidArgument when neither is a
// string, or `required` and both are absent (then "" when not required).
Result<std::string> GetBytes(const nlohmann::json& obj, const std::string& name, bool required);

std::string LeaseHex(uint64_t id);
Result<uint64_t> ParseLeaseHex(std::string_view text);

nlohmann::json KvJson(const client::KeyValue& kv, bool keys_only = false);
nlohmann::json EventJson(const client::WatchEvent& e);

// POST /v1/txn's body:
//   {"compare": [{"key": "k", "target": "version"|"value"|"lease", "op": "="|"!="|">"|"<",
//                 "version": 0 | "value": "v" | "value_b64": "..." | "lease": "<hex>"}],
//    "success": [{"put": {"key": "k", "value": "v", "lease": "<hex>"}}, {"get": {"key": "k"}},
//                {"delete": {"key": "k"}}],
//    "failure": [...]}
// InvalidArgument naming the first bad part.
Result<client::Txn> ParseTxnJson(std::string_view body);
nlohmann::json TxnResultJson(const client::TxnResult& r);

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_HTTP_JSON_H_
