#!/usr/bin/env python3
"""The issue-16 table and ratios from one run of bench/run.sh.

  ratios.py OUT/results.jsonl OUT/rss.jsonl
"""
import json
import sys
from collections import defaultdict


def load(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except OSError:
        return []


def main():
    runs = load(sys.argv[1])
    rss = load(sys.argv[2]) if len(sys.argv) > 2 else []
    by = defaultdict(list)
    for r in runs:
        by[(r["target"], r["conc"])].append(r)

    def mean(target, conc, field):
        v = [r[field] for r in by.get((target, conc), []) if r.get(field) is not None]
        return sum(v) / len(v) if v else None

    targets = [t for t in ["litellm", "portkey", "doitong", "doitong-pg"] if any(k[0] == t for k in by)]
    direct1 = mean("direct", 1, "p50_us")
    memory = defaultdict(dict)
    for r in rss:
        memory[r["name"]]["idle" if "idle" in r["when"] else "after"] = r["rss_kb"] / 1024

    print("| gateway | c=1 RPS | c=1 added p50 | c=16 RPS | c=16 p99 | CPU per request | RSS idle / after |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    fmt = lambda v, f: "–" if v is None else f.format(v)
    for t in targets:
        p50 = mean(t, 1, "p50_us")
        added = None if p50 is None or direct1 is None else (p50 - direct1) / 1000
        cpu = mean(t, 16, "gw_cpu_us_per_req")
        m = memory.get(t, {})
        print(f"| {t} | {fmt(mean(t, 1, 'rps'), '{:.0f}')} | {fmt(added, '{:.2f} ms')} | "
              f"{fmt(mean(t, 16, 'rps'), '{:.0f}')} | {fmt(mean(t, 16, 'p99_us'), '{:.0f}')} µs | "
              f"{fmt(None if cpu is None else cpu / 1000, '{:.2f} ms')} | "
              f"{fmt(m.get('idle'), '{:.0f}')} / {fmt(m.get('after'), '{:.0f}')} MiB |")
    print()
    for ours in ["doitong", "doitong-pg"]:
        mine = mean(ours, 16, "rps")
        if mine is None:
            continue
        for peer in ["portkey", "litellm"]:
            theirs = mean(peer, 16, "rps")
            if theirs:
                print(f"- c=16 RPS, {ours} / {peer}: {mine / theirs:.2f}×")


if __name__ == "__main__":
    main()
