#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# tests/bench: reads the JSON lines of one `make bench` run and prints the
# side-by-side table and the targets of the benchmark issue as ratios
# against SoftHSM2 and raw OpenSSL measured in the same run.
"""usage: summary.py [--strict] RESULTS.jsonl
       summary.py --warm-paths  (the two-thread targets' paths, for run.sh)"""

import json
import sys

TTL_ON = 300
# Audit overhead is judged on ops whose audit-off p50 is below this: on
# slower ops run-to-run noise alone exceeds the 2.5 us budget.
AUDIT_P50_LIMIT_US = 50.0
CACHED_PATHS = ("direct_unwrap_hit", "envelope_direct")
# PKCS#11 operations per scenario op where it is more than one: the
# envelope record is an unwrap and an encrypt (plus the destroy).
CALLS = {"envelope_direct": 2, "envelope_kwp": 2}
# Audit records per scenario op where it is not one: C_DestroyObject
# writes an "object" record, a cache miss also records its KMS call, and
# sessions write none.
RECORDS = {"envelope_direct": 3, "envelope_kwp": 3, "direct_unwrap_miss": 3,
           "direct_unwrap_hit": 2, "kwp_unwrap": 2, "generate_key": 2,
           "session": 0}
# Paths that make no KMS call once warm (DEK, cached KEK or cached unwrap).
WARM_PATHS = ("gcm_encrypt_64", "gcm_encrypt_4k", "gcm_decrypt_64",
              "gcm_decrypt_4k", "kwp_wrap", "kwp_unwrap", "envelope_kwp",
              "generate_key", "direct_unwrap_hit", "envelope_direct")


def load(path):
    """(cmk-bench rows by label, audit, ttl, scenario, threads; the
    cmk-audit-speed line of the run, None if it did not run)."""
    rows = {}
    parts = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if "audit_speed" in r:
                parts = r
                continue
            key = (r["label"], r["audit"], r["cache_ttl"], r["scenario"],
                   r["threads"])
            rows[key] = r
    return rows, parts


class Results:
    def __init__(self, loaded):
        self.rows, self.parts = loaded

    def get(self, who, scn, thr=1):
        label, audit, ttl = {
            "openssl": ("openssl", "n/a", None),
            "softhsm": ("softhsm", "n/a", None),
            "off": ("cmk", "off", TTL_ON),
            "on": ("cmk", "on", TTL_ON),
            "nocache": ("cmk", "on", 0),
            "mem": ("cmk", "mem", TTL_ON),
        }[who]
        return self.rows.get((label, audit, ttl, scn, thr))

    def scenarios(self):
        seen = []
        for key in self.rows:
            if key[3] not in seen:
                seen.append(key[3])
        return seen


def fmt_ops(r):
    return "%11.0f" % r["ops_per_s"] if r else "%11s" % "-"


def print_table(res):
    cols = ("openssl", "softhsm", "off", "on")
    print("\nops/s by scenario (cmk = our module; on/off = audit):")
    print("%-20s %3s %11s %11s %11s %11s %9s" %
          ("scenario", "thr", "openssl", "softhsm", "cmk off", "cmk on",
           "on/shsm"))
    for scn in res.scenarios():
        for thr in (1, 2, 8):
            rs = [res.get(c, scn, thr) for c in cols]
            if not any(rs):
                continue
            ratio = "-"
            if rs[1] and rs[3]:
                ratio = "%.2fx" % (rs[3]["ops_per_s"] / rs[1]["ops_per_s"])
            print("%-20s %3d %s %s %s %s %9s" %
                  ((scn, thr) + tuple(fmt_ops(r) for r in rs) + (ratio,)))
    for scn in ("direct_unwrap_hit", "envelope_direct"):
        for thr in (1, 2):
            r = res.get("nocache", scn, thr)
            if r:
                print("%-20s %3d cache off (ttl 0), audit on: %.0f ops/s, "
                      "p50 %.2f us" % (scn, thr, r["ops_per_s"], r["p50_us"]))


class Targets:
    def __init__(self):
        self.missed = 0
        self.lines = []

    def ratio(self, what, num, den, field, need):
        if not num or not den or den[field] == 0:
            self.lines.append("n/a   %s: not measured" % what)
            self.missed += 1
            return
        got = num[field] / den[field]
        ok = got >= need
        self.missed += 0 if ok else 1
        self.lines.append("%s  %s: %.2fx (need >= %.2fx; %.1f / %.1f %s)" %
                          ("PASS" if ok else "MISS", what, got, need,
                           num[field], den[field], field))

    def audit_cost(self, res):
        worst = None
        for scn in res.scenarios():
            on, off = res.get("on", scn), res.get("off", scn)
            if not on or not off or off["p50_us"] >= AUDIT_P50_LIMIT_US:
                continue
            d = (on["p50_us"] - off["p50_us"]) / CALLS.get(scn, 1)
            if worst is None or d > worst[1]:
                worst = (scn, d, on["p50_us"], off["p50_us"])
        if worst is None:
            self.lines.append("n/a   audit cost: not measured")
            self.missed += 1
            return
        ok = worst[1] <= 2.5
        self.missed += 0 if ok else 1
        self.lines.append(
            "%s  audit on adds at most 2.5 us p50 per operation: worst %s "
            "+%.2f us (%.2f on, %.2f off; ops with p50 < %.0f us)" %
            (("PASS" if ok else "MISS",) + worst + (AUDIT_P50_LIMIT_US,)))

    def audit_record_cost(self, res, need_us):
        """The audit writer's targets: cost per record over audit off (the
        file in memory beside it, when that control ran)."""
        worst = worst_record_cost(res, "on")
        if worst is None:
            self.lines.append("n/a   audit cost per record: not measured")
            self.missed += 1
            return
        ok = worst[1] <= need_us
        self.missed += 0 if ok else 1
        mem = worst_record_cost(res, "mem")
        self.lines.append("%s  audit on adds at most %.1f us p50 per record: "
                          "worst %s +%.2f us%s" %
                          (("PASS" if ok else "MISS", need_us) + worst +
                           ("" if mem is None else
                            " (file in memory: worst %s +%.2f us)" % mem,)))
        if res.parts is not None:
            self.lines.append("      " + record_parts(res.parts))

    def thread_scaling(self, res, need):
        """2 threads vs 1 with audit on, each warm path; beside it audit
        off, the audit file in memory (no disk I/O) and the share of the
        machine's CPU time its host took during the two-thread run."""
        for scn in WARM_PATHS:
            on1, on2 = res.get("on", scn, 1), res.get("on", scn, 2)
            if not on1 or not on2:
                continue
            got = on2["ops_per_s"] / on1["ops_per_s"]
            ok = got >= need
            self.missed += 0 if ok else 1
            self.lines.append("%s  2 threads vs 1 on %s, audit on: %.2fx "
                              "(need >= %.2fx; audit off %s, file in memory "
                              "%s; host steal %s)" %
                              ("PASS" if ok else "MISS", scn, got, need,
                               scaling(res, "off", scn),
                               scaling(res, "mem", scn), steal(on2)))
        if res.parts is not None:
            p = res.parts
            self.lines.append(
                "      the writer alone on 2 threads vs 1 (cmk-audit-speed, "
                "time waiting for a CPU taken out): %.2fx fsync none, %.2fx "
                "interval; the bare atomic add and copy %.2fx" %
                (p["write_none_2t"], p["write_interval_2t"], p["map_2t"]))


def worst_record_cost(res, who):
    """(scenario, us) of the largest p50 cost per record of audit `who`
    over audit off, on ops fast enough to judge; None if none ran."""
    worst = None
    for scn in res.scenarios():
        on, off = res.get(who, scn), res.get("off", scn)
        n = RECORDS.get(scn, 1)
        if not on or not off or n == 0 or \
                off["p50_us"] >= AUDIT_P50_LIMIT_US:
            continue
        d = (on["p50_us"] - off["p50_us"]) / n
        if worst is None or d > worst[1]:
            worst = (scn, d)
    return worst


def record_parts(p):
    """Where one record's time goes in the writer (cmk-audit-speed, thread
    CPU time): the floor of a keyed record in the kernel (its mac and its
    copy into the shared mapping) and the rest of cmk_audit_write."""
    floor = p["mac_us"] + p["map_us"]
    return ("where a record's time goes here (cmk-audit-speed, %d-byte "
            "line, thread CPU): %s mac %.2f us + copy into the mapping "
            "%.2f = floor %.2f us; the whole write %.2f us (fsync none), "
            "the line's text, clock and the rest %.2f" %
            (p["line_bytes"], p["mac"], p["mac_us"], p["map_us"], floor,
             p["write_none_us"], p["write_none_us"] - floor))


def scaling(res, who, scn):
    one, two = res.get(who, scn, 1), res.get(who, scn, 2)
    if not one or not two or one["ops_per_s"] == 0:
        return "-"
    return "%.2fx" % (two["ops_per_s"] / one["ops_per_s"])


def steal(r):
    """The host's share of the machine's CPU time during run r."""
    if r.get("steal") is None:
        return "-"
    return "%.0f%%" % (100 * r["steal"])


def print_audit_deltas(res):
    print("\naudit on minus off, p50 (1 thread; per PKCS#11 operation):")
    for scn in res.scenarios():
        on, off = res.get("on", scn), res.get("off", scn)
        if on and off:
            n = CALLS.get(scn, 1)
            print("  %-20s %+8.2f us  (%.2f -> %.2f%s)" %
                  (scn, (on["p50_us"] - off["p50_us"]) / n, off["p50_us"],
                   on["p50_us"], ", %d operations" % n if n > 1 else ""))


def check_targets(res):
    t = Targets()
    # The fast path's targets (audit on, fsync "interval").
    t.ratio("C_Encrypt AES-256-GCM 4 KiB, audit on, vs SoftHSM2",
            res.get("on", "gcm_encrypt_4k"),
            res.get("softhsm", "gcm_encrypt_4k"), "ops_per_s", 5.0)
    t.ratio("C_Encrypt AES-256-GCM 4 KiB, audit on, vs raw OpenSSL "
            "(keyed context reused)",
            res.get("on", "gcm_encrypt_4k"),
            res.get("openssl", "gcm_encrypt_4k"), "ops_per_s", 0.6)
    t.ratio("C_Encrypt AES-256-GCM 64 B, audit on, vs SoftHSM2",
            res.get("on", "gcm_encrypt_64"),
            res.get("softhsm", "gcm_encrypt_64"), "ops_per_s", 5.0)
    t.ratio("C_Encrypt AES-256-GCM 1 MiB, audit on, vs raw OpenSSL MB/s",
            res.get("on", "gcm_encrypt_1m"),
            res.get("openssl", "gcm_encrypt_1m"), "mb_per_s", 0.95)
    t.ratio("cached direct-path C_UnwrapKey vs SoftHSM2 KWP(0x210A) unwrap",
            res.get("on", "direct_unwrap_hit"),
            res.get("softhsm", "kwp_unwrap"), "ops_per_s", 5.0)
    t.ratio("envelope record (direct, cached) vs SoftHSM2's (KWP)",
            res.get("on", "envelope_direct"),
            res.get("softhsm", "envelope_kwp"), "ops_per_s", 6.0)
    t.audit_cost(res)
    for scn in CACHED_PATHS:
        t.ratio("2 threads vs 1 on %s, audit on" % scn,
                res.get("on", scn, 2), res.get("on", scn, 1), "ops_per_s",
                1.7)
    # The audit writer's (fsync "interval", as run.sh configures it).
    t.audit_record_cost(res, 0.5)
    t.thread_scaling(res, 1.8)
    return t


def main(argv):
    if argv[1:] == ["--warm-paths"]:
        print(",".join(WARM_PATHS))
        return 0
    strict = "--strict" in argv
    args = [a for a in argv[1:] if a != "--strict"]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    res = Results(load(args[0]))
    print_table(res)
    print_audit_deltas(res)
    t = check_targets(res)
    print("\ntargets (one thread unless stated; same run):")
    for line in t.lines:
        print("  " + line)
    print("%d target(s) missed" % t.missed)
    return 1 if strict and t.missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
