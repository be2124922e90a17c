#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tests/bench: one curve file (curves_plot.py's format) from the records
a curve script collected.

Each line of RESULTS is {"who": W, "n": X, "tag": T, "r": {...}}: one run
of a driver (cmk-grow) at size X, its JSON line in "r". SPEC is the curve
without points: each series names where its values come from, "who",
"tag" (default "run") and "field" of "r", optionally "scale"; its point at
each X is [X, median, low, high] over the runs (more than one) or [X, v].
A size a script could not reach is simply absent; a series without any
value keeps an empty list of points (the smoke test looks for those).

  curve_points.py RESULTS.jsonl SPEC.json OUT.json
"""
import json
import statistics
import sys


def points(records, src):
    by_x = {}
    for rec in records:
        if rec["who"] != src["who"] or rec.get("tag", "run") != src.get(
                "tag", "run"):
            continue
        v = rec["r"].get(src["field"])
        if v is None:
            continue
        by_x.setdefault(rec["n"], []).append(v * src.get("scale", 1))
    out = []
    for x in sorted(by_x):
        vs = by_x[x]
        if len(vs) == 1:
            out.append([x, vs[0]])
        else:
            out.append([x, statistics.median(vs), min(vs), max(vs)])
    return out


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    with open(sys.argv[2]) as fh:
        curve = json.load(fh)
    for s in curve["series"]:
        src = {k: s.pop(k) for k in ("who", "tag", "field", "scale") if k in s}
        s["points"] = points(records, src)
    with open(sys.argv[3], "w") as fh:
        json.dump(curve, fh, indent=1)
        fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
