#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tests/bench: the cost curves of `make bench` as tables and PNG plots.

Each curve is one JSON file written by a curve script (curve_*.sh):

  {"name": "tenants", "title": "Config load as tenants grow",
   "x": {"label": "tenants", "log": true},
   "y": {"label": "milliseconds", "log": true},
   "note": "what grows and how, one line",
   "series": [{"label": "cmk-pkcs11 C_Initialize", "unit": "ms",
               "points": [[1, 2.1, 1.9, 2.4], [100, 3.0, 2.8, 3.3]]}]}

A point is [x, median, low, high] (low and high: the range of the runs;
[x, y] when there is one run). For each file this prints the table (one
row per x, one column per series, the median and its range) and, per
series, the growth exponent k between the last two points (y grows as
x^k there: 1 is linear), and writes NAME.png beside the file (or into
--out). Exit 1 when a series marked "max_exponent" grows faster than it.

  curves_plot.py [--out DIR] [--no-png] FILE.json...
"""
import argparse
import json
import math
import os
import sys


def exponent(points):
    """k of y ~ x^k between the last two points with x, y > 0: the growth
    where the fixed costs no longer hide it."""
    pts = sorted((p[0], p[1]) for p in points if p[0] > 0 and p[1] > 0)
    if len(pts) < 2 or pts[-2][0] == pts[-1][0]:
        return None
    (x0, y0), (x1, y1) = pts[-2], pts[-1]
    return math.log(y1 / y0) / math.log(x1 / x0)


def cell(p):
    if len(p) >= 4 and (p[2] != p[1] or p[3] != p[1]):
        return "%.4g (%.4g-%.4g)" % (p[1], p[2], p[3])
    return "%.4g" % p[1]


def table(curve):
    xs = sorted({p[0] for s in curve["series"] for p in s["points"]})
    head = [curve["x"]["label"]] + [
        "%s (%s)" % (s["label"], s.get("unit", "")) for s in curve["series"]]
    rows = []
    for x in xs:
        row = ["%g" % x]
        for s in curve["series"]:
            p = [q for q in s["points"] if q[0] == x]
            row.append(cell(p[0]) if p else "-")
        rows.append(row)
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    out = ["## %s" % curve.get("title", curve["name"])]
    out.append("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths))
               + " |")
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        out.append("| " + " | ".join(c.rjust(w) for c, w in zip(r, widths))
                   + " |")
    return "\n".join(out)


def growth(curve):
    """Lines 'series: grows as x^k', and whether every limit holds."""
    lines, ok = [], True
    for s in curve["series"]:
        k = exponent(s["points"])
        if k is None:
            continue
        limit = s.get("max_exponent")
        bad = limit is not None and k > limit
        ok = ok and not bad
        lines.append("  %s: grows as x^%.2f%s" % (
            s["label"], k,
            "" if limit is None else
            (" (limit %.2f: %s)" % (limit, "EXCEEDED" if bad else "ok"))))
    if curve.get("note"):
        lines.append("  " + curve["note"])
    return lines, ok


def plot(curve, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    for s in curve["series"]:
        pts = sorted(s["points"])
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        line = ax.plot(xs, ys, marker="o", label=s["label"])[0]
        if all(len(p) >= 4 for p in pts):
            ax.fill_between(xs, [p[2] for p in pts], [p[3] for p in pts],
                            color=line.get_color(), alpha=0.2)
    if curve["x"].get("log"):
        ax.set_xscale("log")
    if curve["y"].get("log"):
        ax.set_yscale("log")
    ax.set_xlabel(curve["x"]["label"])
    ax.set_ylabel(curve["y"]["label"])
    ax.set_title(curve.get("title", curve["name"]))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="directory of the PNG files")
    ap.add_argument("--no-png", action="store_true")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    all_ok = True
    for f in a.files:
        with open(f) as fh:
            curve = json.load(fh)
        print(table(curve))
        lines, ok = growth(curve)
        all_ok = all_ok and ok
        print("\n".join(lines))
        if not a.no_png:
            out = a.out or os.path.dirname(os.path.abspath(f))
            png = os.path.join(out, curve["name"] + ".png")
            plot(curve, png)
            print("  plot: %s" % png)
        print()
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
