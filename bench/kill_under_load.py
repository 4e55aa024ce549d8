#!/usr/bin/env python3
"""The numbers of bench/kill_under_load.sh, from each run's directory:
  timeline.txt  kvbench --timeline (100 ms intervals, Unix ms; tools/kvbench/timeline.h)
  kvbench.json  kvbench -w json (errors by code)
  run.env       KILL_TS (Unix s, just before kill -9), VICTIM (node id), VICTIM_LEADS (groups
                it led then), SHARDS, WARMUP
  status.json   kvctl cluster status -w json, halfway through the warmup (each group's leader)
  node?.log     the nodes' glog output (timestamps in local time)

Definitions (docs/benchmarks.md, "A node killed under load"):
  declared dead   the first survivor's INFO line "gossip: member N (...) dead" (gossip_driver.cc)
  elections       the groups the victim led at the kill (status.json's leaders, updated by the
                  survivors' "group G: leader is now node N" lines before the kill) and when
                  the last of them had a new leader (the first survivor's line naming another)
  3-node steady   mean ops/s from the end of the warmup to the kill
  2-node steady   the median of the 1 s throughputs from 2 s after the death declaration to the
                  end of the run (one node down, clients long settled): the baseline of "back",
                  since the 3-node level is not the level two nodes reach (on 2 shared cores
                  they reach more, with less CPU taken by the third). A median, because the
                  shared machine's other load moves single seconds by +-20%
  back at         the start of the first 100 ms interval after the kill that carries >= 90% of
                  the 2-node steady throughput, as does the 1 s starting with it (a 1 s window
                  alone would hide a stall of a few hundred ms behind the burst that ends it)
  dip             the lowest 100 ms of throughput between the kill and "back at"
  p99 recovery    p99 (and max) of the writes acknowledged from the kill to 1 s after "back at"
  errors          failed operations over the whole run (kvbench's per-op deadline is 5 s)

  kill_under_load.py RUN_DIR...   one line per run, then the spread when there are several.
  kill_under_load.py --victim RUN_DIR   (before the kill) the node leading the most groups now,
                                        and how many: status.json updated by the logs
"""
import datetime
import glob
import json
import math
import os
import re
import statistics
import sys

INTERVAL_S = 0.1
BACK_WINDOW = 10  # intervals (1 s) that must carry >= 90% of the baseline
BACK_FRACTION = 0.9


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            env[k] = v
    return env


GLOG = re.compile(r"^[IWEF](\d{8} \d\d:\d\d:\d\d\.\d+) ")
DEAD = re.compile(r"gossip: member (\d+) \(.*\) dead,")
LED = re.compile(r"group (\d+): leader is now node (\d+)")


def glog_time(line):
    """Unix seconds of a glog 0.6 line (Lyyyymmdd hh:mm:ss.uuuuuu, local time), or None."""
    m = GLOG.match(line)
    if not m:
        return None
    return datetime.datetime.strptime(m.group(1), "%Y%m%d %H:%M:%S.%f").timestamp()


def leader_changes(run_dir):
    """Every logged leader change, sorted: (time, group, node); and every death declaration:
    (time, node). Boot elections are not logged one by one (turn_pipeline.cc), hence
    status.json."""
    changes, deaths = [], []
    for path in glob.glob(os.path.join(run_dir, "node?.log")):
        with open(path, errors="replace") as f:
            for line in f:
                t = glog_time(line)
                m = LED.search(line) if t is not None else None
                if m:
                    changes.append((t, int(m.group(1)), int(m.group(2))))
                m = DEAD.search(line) if t is not None else None
                if m:
                    deaths.append((t, int(m.group(1))))
    return sorted(changes), deaths


def leaders_at(run_dir, changes, when):
    """Each group's leader at `when`: status.json's, updated by the logged changes before."""
    with open(os.path.join(run_dir, "status.json")) as f:
        leader = {g["group_id"]: g["leader"] for g in json.load(f)["groups"]}
    for t, group, node in changes:
        if t < when:
            leader[group] = node
    return leader


def read_logs(run_dir, victim, kill):
    """The first declaration of `victim` dead (None if none), and for each group the victim led
    at the kill, the time of the first survivor's line naming another leader (None if none)."""
    changes, deaths = leader_changes(run_dir)
    dead = min((t for t, node in deaths if node == victim and t >= kill), default=None)
    led_again = {g: None for g, node in leaders_at(run_dir, changes, kill).items()
                 if node == victim}
    for t, group, node in changes:
        if t >= kill and node != victim and group in led_again and led_again[group] is None:
            led_again[group] = t
    return dead, led_again


def print_victim(run_dir):
    """Prints the node leading the most groups now and how many (for the kill)."""
    changes, _ = leader_changes(run_dir)
    now = datetime.datetime.now().timestamp()
    counts = {}
    for node in leaders_at(run_dir, changes, now).values():
        if node:
            counts[node] = counts.get(node, 0) + 1
    node = max(counts, key=lambda n: (counts[n], -n))
    print(node, counts[node])


def read_timeline(path):
    rows = []  # (start_s, ok, errors, {bucket_high_us: count})
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            parts = line.split()
            buckets = {}
            if parts[6] != "-":
                for pair in parts[6].split(","):
                    high, n = pair.split(":")
                    buckets[int(high)] = int(n)
            rows.append((int(parts[0]) / 1000.0, int(parts[1]), int(parts[2]), buckets))
    return rows


def percentile(buckets, q):
    count = sum(buckets.values())
    if count == 0:
        return 0.0
    rank = max(1, math.ceil(q * count))
    seen = 0
    for high in sorted(buckets):
        seen += buckets[high]
        if seen >= rank:
            return high / 1000.0
    return max(buckets) / 1000.0


def rate(rows):
    return sum(r[1] for r in rows) / (len(rows) * INTERVAL_S) if rows else 0.0


def analyze(run_dir):
    env = read_env(os.path.join(run_dir, "run.env"))
    rows = read_timeline(os.path.join(run_dir, "timeline.txt"))
    with open(os.path.join(run_dir, "kvbench.json")) as f:
        bench = json.load(f)
    kill = float(env["KILL_TS"])
    dead, led_again = read_logs(run_dir, int(env["VICTIM"]), kill)
    unled = sum(1 for t in led_again.values() if t is None)
    t0 = rows[0][0]
    measured = t0 + float(env["WARMUP"])
    before = [r for r in rows if r[0] >= measured and r[0] + INTERVAL_S <= kill]
    settled = (dead if dead is not None else kill + 8.0) + 2.0
    first = next((i for i, r in enumerate(rows) if r[0] >= settled), len(rows))
    seconds = [rows[i:i + 10] for i in range(first, len(rows) - 9, 10)]
    if len(seconds) < 3:
        sys.exit("%s: under 3 s of load after the death declaration; raise --after" % run_dir)
    base3, base2 = rate(before), statistics.median(rate(w) for w in seconds)
    after = [i for i, r in enumerate(rows) if r[0] >= kill]  # whole intervals after the kill
    back_i = None
    for i in after:
        window = rows[i:i + BACK_WINDOW]
        if (len(window) == BACK_WINDOW and rate(window[:1]) >= BACK_FRACTION * base2 and
                rate(window) >= BACK_FRACTION * base2):
            back_i = i
            break
    end_i = back_i if back_i is not None else len(rows)
    dip = min((rate(rows[i:i + 1]) for i in range(after[0], max(after[0] + 1, end_i))),
              default=None) if after else None
    rec_until = (rows[back_i][0] + 1.0) if back_i is not None else rows[-1][0] + INTERVAL_S
    rec = {}
    for r in rows:
        if r[0] + INTERVAL_S > kill and r[0] < rec_until:
            for high, n in r[3].items():
                rec[high] = rec.get(high, 0) + n
    back = rows[back_i][0] if back_i is not None else None
    return {
        "victim": int(env["VICTIM"]), "victim_leads": env.get("VICTIM_LEADS", "?"),
        "shards": env.get("SHARDS", "?"),
        "base3": base3, "base2": base2,
        "kill_to_dead": dead - kill if dead is not None else None,
        "victims_groups": len(led_again), "unled": unled,
        "kill_to_last_led": (max(led_again.values()) - kill
                             if led_again and not unled else None),
        "kill_to_back": back - kill if back is not None else None,
        "dead_to_back": back - dead if back is not None and dead is not None else None,
        "dip": dip,
        "settled_seconds": len(seconds),
        "errors": sum(r[2] for r in rows), "errors_by_code": bench.get("errors", {}),
        "p99_recovery_ms": percentile(rec, 0.99),
        "max_recovery_ms": max(rec) / 1000.0 if rec else 0.0,
        "p99_steady_ms": percentile(merge(before), 0.99),
    }


def merge(rows):
    out = {}
    for r in rows:
        for high, n in r[3].items():
            out[high] = out.get(high, 0) + n
    return out


def fmt(v, spec="%.2f", none="n/a"):
    return none if v is None else spec % v


def line(name, a):
    codes = ",".join("%s=%d" % kv for kv in sorted(a["errors_by_code"].items())) or "none"
    warn = "" if a["kill_to_dead"] is not None else "  [no survivor declared it dead]"
    return ("%s: killed node %d (it led %s of %s groups); 3-node steady %.0f ops/s (p99 %.1f ms); "
            "declared dead %s s after the kill; all %d led again %s s after the kill; 2-node steady %.0f ops/s (%.2fx 3-node, median of %d s); "
            "lowest 100 ms after the kill %.0f ops/s; back to >=90%% of 2-node steady %s s after "
            "the kill = %s s after declared dead; errors %d (%s); p99 kill..back+1s %.1f ms "
            "(max %.1f ms)%s" % (
                name, a["victim"], a["victim_leads"], a["shards"], a["base3"], a["p99_steady_ms"],
                fmt(a["kill_to_dead"]), a["victims_groups"], fmt(a["kill_to_last_led"], none="(not all)"), a["base2"], a["base2"] / a["base3"] if a["base3"] else 0, a["settled_seconds"],
                a["dip"] or 0, fmt(a["kill_to_back"], none="never"),
                fmt(a["dead_to_back"], "%+.2f"), a["errors"], codes, a["p99_recovery_ms"],
                a["max_recovery_ms"], warn))


def spread(results, key, spec="%.2f"):
    vals = [r[key] for r in results if r[key] is not None]
    if not vals:
        return "n/a"
    return ("median " + spec + " (min " + spec + ", max " + spec + ")") % (
        statistics.median(vals), min(vals), max(vals))


def main(dirs):
    results = []
    for d in dirs:
        a = analyze(d)
        results.append(a)
        print(line(os.path.basename(d.rstrip("/")), a))
    if len(results) > 1:
        print("over %d runs:" % len(results))
        print("  3-node steady ops/s        " + spread(results, "base3", "%.0f"))
        print("  2-node steady ops/s        " + spread(results, "base2", "%.0f"))
        print("  kill -> declared dead, s   " + spread(results, "kill_to_dead"))
        print("  kill -> last group led, s  " + spread(results, "kill_to_last_led"))
        print("  kill -> back, s            " + spread(results, "kill_to_back"))
        print("  declared dead -> back, s   " + spread(results, "dead_to_back", "%+.2f"))
        print("  lowest 100 ms, ops/s       " + spread(results, "dip", "%.0f"))
        print("  errors                     " + spread(results, "errors", "%d"))
        print("  p99 kill..back+1s, ms      " + spread(results, "p99_recovery_ms", "%.1f"))
        print("  max kill..back+1s, ms      " + spread(results, "max_recovery_ms", "%.1f"))
        never = sum(1 for r in results if r["kill_to_back"] is None)
        if never:
            print("  %d run(s) never got back to 90%% of the 2-node level" % never)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if sys.argv[1] == "--victim":
        print_victim(sys.argv[2])
    else:
        main(sys.argv[1:])
