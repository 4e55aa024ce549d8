#!/usr/bin/env python3
"""The report of bench/compare_etcd.sh: reads its results.tsv (one line per kvbench run) and
prints a markdown table of medians over rounds, RingKV against etcd, row by row. Several
results.tsv files (separate runs) combine: each run's rounds count as rounds.

results.tsv columns: system (etcd|ringkv), shards, round, row, ops/s, p50 ms, p99 ms,
server CPU us/op, client CPU us/op, write MB/s, errors.
"""
import argparse
import statistics
import sys

ROWS = {
    "w1": "writes, 1 in flight",
    "w64": "writes, 64 in flight",
    "w256": "writes, 256 in flight",
    "lin64": "linearizable reads, 64",
    "ser64": "serializable reads, 64",
    "mix64": "50/50 reads/writes, 64",
    "big64": "64 KiB writes, 64",
}
FIELDS = ["ops", "p50", "p99", "cpu", "client", "mbs", "errors"]


def load(path, runs):
    """Adds the runs of one results.tsv to `runs`: (shards, row, system) -> list of dicts."""
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 11:
                sys.exit(f"compare_etcd_table: bad line in {path}: {line!r}")
            system, shards, _round, row = parts[:4]
            values = dict(zip(FIELDS, map(float, parts[4:])))
            runs.setdefault((int(shards), row, system), []).append(values)


def median(runs, field):
    return statistics.median(r[field] for r in runs)


def fmt_int(x):
    return f"{x:,.0f}"


def table(runs):
    keys = sorted({(s, r) for (s, r, _) in runs}, key=lambda k: (k[0], list(ROWS).index(k[1])))
    rounds = max(len(v) for v in runs.values())
    out = [
        "| shards | row | etcd ops/s | RingKV ops/s | RingKV/etcd | etcd p50 / p99 ms | "
        "RingKV p50 / p99 ms | etcd CPU us/op | RingKV CPU us/op | client CPU us/op etcd / RingKV "
        "| MB/s etcd / RingKV |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for shards, row in keys:
        e, k = runs.get((shards, row, "etcd")), runs.get((shards, row, "ringkv"))
        if not e or not k:
            continue
        eo, ko = median(e, "ops"), median(k, "ops")
        ratio = f"{ko / eo:.2f}x" if eo > 0 else "-"
        mbs = (f"{median(e, 'mbs'):.1f} / {median(k, 'mbs'):.1f}" if row == "big64" else "")
        out.append(
            f"| {shards} | {ROWS[row]} | {fmt_int(eo)} | {fmt_int(ko)} | {ratio} | "
            f"{median(e, 'p50'):.2f} / {median(e, 'p99'):.2f} | "
            f"{median(k, 'p50'):.2f} / {median(k, 'p99'):.2f} | "
            f"{median(e, 'cpu'):.0f} | {median(k, 'cpu'):.0f} | "
            f"{median(e, 'client'):.0f} / {median(k, 'client'):.0f} | {mbs} |")
        for name, rs in (("etcd", e), ("RingKV", k)):
            errs = sum(r["errors"] for r in rs)
            if errs:
                notes.append(f"{name}, {shards} shards, {ROWS[row]}: {errs:.0f} failed operations")
    lines = out
    lines.append("")
    lines.append(f"Medians over {rounds} round(s) (fewer for rows that ran less often). Ratio = RingKV ops/s / etcd ops/s. CPU us/op = "
                 "the three servers' CPU time in the measured window / operations; client = "
                 "kvbench's own.")
    if notes:
        lines.append("Failed operations (not counted in ops/s): " + "; ".join(notes) + ".")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results", nargs="+")
    ap.add_argument("--command", default="")
    ap.add_argument("--commit", default="")
    ap.add_argument("--machine", default="")
    ap.add_argument("--when", default="")
    a = ap.parse_args()
    runs = {}
    for path in a.results:
        load(path, runs)
    if not runs:
        sys.exit("compare_etcd_table: no results")
    print(f"- Command: `{a.command.strip() or 'bench/compare_etcd.sh'}`")
    print(f"- Commit: {a.commit}; machine: {a.machine}")
    print(f"- When: {a.when}")
    print()
    print(table(runs))


if __name__ == "__main__":
    main()
