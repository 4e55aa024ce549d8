// kvctl txn's input language: etcdctl's, line by line.
//
//   <compare>*  blank line  <op>*  blank line  <op>*  (end of input or blank line)
//   compare: target("key") op "operand", target one of
//              mod | m | version | ver   the key's version ("0" = absent; RingKV keeps one
//                                        number per key, so etcd's mod and version are both it)
//              value | val               the value
//              lease                     the lease id (hex, as kvctl prints leases)
//            and op one of = != > <
//   op:      put <key> <value> [--lease=<hex id>] | get <key> | del <key>
// Keys and values are bare words or double-quoted with Go/C escapes (\" \\ \n \t \xNN).
//
// Thread-safety: pure functions.
#ifndef RINGKV_TOOLS_KVCTL_TXN_PARSE_H_
#define RINGKV_TOOLS_KVCTL_TXN_PARSE_H_

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "ringkv/client.h"

namespace ringkv::kvctl {

// Splits a line into words: whitespace-separated, double quotes group and unescape.
// InvalidArgument for an unterminated quote or a bad escape.
Result<std::vector<std::string>> SplitWords(std::string_view line);

Result<client::Compare> ParseCompare(std::string_view line);
Result<client::TxnOp> ParseTxnOp(std::string_view line);

// Reads a whole transaction from `in`. With `prompts`, writes etcdctl's interactive prompts
// ("compares:", "success requests (get, put, del):", "failure requests (get, put, del):")
// before each part. Errors name the line.
Result<client::Txn> ParseTxn(std::istream& in, std::ostream* prompts);

// A lease id as kvctl prints it (hex, optional 0x). InvalidArgument otherwise.
Result<uint64_t> ParseLeaseId(std::string_view text);
std::string FormatLeaseId(uint64_t id);

}  // namespace ringkv::kvctl

#endif  // RINGKV_TOOLS_KVCTL_TXN_PARSE_H_
