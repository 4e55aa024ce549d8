#!/usr/bin/env python3
"""Microseconds of server CPU per write, by part of the node, from folded stacks of the three
kvd (tools/flamegraph.py --folded) sampled at --hz over --seconds while kvbench wrote at
--writes-per-second. A stack counts for the first part below whose rule matches it.
"""
import argparse
import collections

PARTS = [
    # DWARF unwinding stops at 16 KiB of stack: a memtable insert whose stack was cut short is
    # still RocksDB work of the turn's writes (mostly the apply write: random user keys).
    ("RocksDB: memtable inserts (stack cut short)",
     lambda s: "MemTable::Add" in s and "PostLogWrite" not in s and "OnBatchWritten" not in s),
    # Since the log left RocksDB (split_engine.h) this is LogKv: an append, a map insert and an
    # fdatasync; before, RocksDB's WAL, memtable and fdatasync.
    ("the Raft log write (append, map, fdatasync)", lambda s: "PostLogWrite" in s),
    ("RocksDB: the apply write",
     lambda s: ("OnBatchWritten" in s and "RocksEngine::Write" in s) or "RocksEngine::WriteAll" in s
     or "RocksEngine::WriteUnlogged" in s),
    ("RocksDB: reads (Get)", lambda s: "RocksEngine::Get" in s or "DBImpl::Get" in s),
    ("RocksDB: flush and compaction", lambda s: "BGWork" in s or "BackgroundCall" in s),
    ("apply in memory (applier, sessions)",
     lambda s: "Applier::" in s or "ApplyEntries" in s or "SessionTable" in s),
    ("collecting Readys into the log batch", lambda s: "CollectReady" in s),
    ("Raft core (step, tick, Ready)", lambda s: "ringkv::raft::" in s),
    ("peer transport (queue, wake-up, serialize, socket, parse)",
     lambda s: "ringkv::net::Transport" in s or s.startswith("ringkv-transpor")
     or "OnRaftMessages" in s),
    ("client frames (socket, parse, route, answer)",
     lambda s: s.startswith("ringkv-frame") or "ClientService" in s or "FrameServer" in s
     or "HandleRequest" in s or "Store::Dispatch" in s or "RequestRouter" in s),
    # Since a9dac3d the peer and client sockets run on the store loop's thread: their socket
    # calls and frame reads and writes cannot be told apart by thread name any more.
    ("sockets on the loop (peer and client reads and writes)",
     lambda s: "reactive_socket" in s or "ringkv::net::Connection" in s),
    ("gossip", lambda s: "gossip" in s.lower()),
    ("kernel: scheduler, epoll, futex (wake-ups)",
     lambda s: "schedule [k]" in s or "epoll_wait" in s or "futex" in s),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("folded")
    ap.add_argument("--writes-per-second", type=float, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--hz", type=float, default=499)
    a = ap.parse_args()
    parts, total = collections.Counter(), 0
    with open(a.folded) as f:
        for line in f:
            stack, n = line.rsplit(" ", 1)
            n = int(n)
            total += n
            parts[next((name for name, rule in PARTS if rule(stack)), "other")] += n
    writes = a.writes_per_second * a.seconds
    us = lambda samples: samples * 1e6 / a.hz / writes
    print("| part | share | us of server CPU per write |\n|---|---:|---:|")
    for name, n in parts.most_common():
        print(f"| {name} | {100.0 * n / total:.1f}% | {us(n):.1f} |")
    print(f"| **all three servers** | 100% | **{us(total):.1f}** |")


if __name__ == "__main__":
    main()
