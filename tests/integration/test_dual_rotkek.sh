#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: data-key rotation of a dual-control tenant on the local
# provider (both keys local), with the real cmk-tool and the module under
# PyKCS11 and pkcs11-tool. rotate-kek makes two new halves and keeps the
# old pair in previous_keks (one atomic config write, a version 2
# journal with the provider halves); a run killed while it waits for the
# store is finished by the same command; token objects work throughout;
# KEK-path blobs (kwp, kw, gcm) of the old KEK unwrap in the window and
# rewrap --kek-path moves them; rotate-cmk afterwards moves the old
# customer half and keeps its provider half; another provider key in
# place of dual_control.key stops old and new KEK alike; --finish keeps
# provider_kek on what it keeps. (A provider key file removed under a
# running module, on its TTL: tests/unit/test_dual_module.c.)
set -u
. "$(dirname "$0")/lib.sh"

cmk_need pkcs11-tool flock "$CMK_PYTHON"
cmk_need_module
"$CMK_PYTHON" -c 'import PyKCS11' 2>/dev/null ||
    cmk_missing "python3-pykcs11 is not installed"
cmk_tmpdir
T=$CMK_TMP
CFG=$T/config.json
A=$T/audit/audit.jsonl

fail() { cmk_fail "$*"; }
# expect RC CMD...: runs CMD, output in $T/out and $T/err.
expect() { cmk_expect "$@"; }
# member [CONFIG] PATH...: a string member of tenant acme ("" when
# absent); a number in PATH indexes an array.
member() {
    local cfg=$CFG
    case $1 in /*) cfg=$1 && shift ;; esac
    "$CMK_PYTHON" - "$cfg" "$@" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["tenants"][0]
for k in sys.argv[2:]:
    if isinstance(t, list):
        t = t[int(k)] if int(k) < len(t) else {}
    else:
        t = t.get(k, {}) if isinstance(t, dict) else {}
print(t if isinstance(t, str) else len(t) if isinstance(t, list) else "")
PY
}
# blobs CONFIG DIR make|check: KEK-path blobs (kek_blobs.py), 5 of each.
blobs() {
    cmk_host env CMK_PKCS11_CONFIG="$1" ROT_LABEL=acme ROT_PIN=1234 \
        "$CMK_PYTHON" "$top_srcdir/tests/integration/kek_blobs.py" "$3" \
        "$2" 5 2>"$T/py.err" || { cat "$T/py.err" >&2; fail "kek_blobs.py $3"; }
}
# oldblobs CONFIG: "blobs CONFIG $T/blobs check" on the blobs as made,
# under the first KEK (values.json names them by their path in
# $T/blobs, which holds the rewrapped ones meanwhile).
oldblobs() {
    rm -rf "$T/blobs.cur" && mv "$T/blobs" "$T/blobs.cur" &&
        cp -a "$T/blobs.old" "$T/blobs" || cmk_error "cannot copy blobs"
    blobs "$1" "$T/blobs" check
    rm -rf "$T/blobs" && mv "$T/blobs.cur" "$T/blobs" || cmk_error "cannot copy blobs"
}
# app CONFIG make|check: a token object and blobs of both paths
# (rotate_blobs.py).
app() {
    cmk_host env CMK_PKCS11_CONFIG="$1" ROT_LABEL=acme ROT_PIN=1234 \
        "$CMK_PYTHON" "$top_srcdir/tests/integration/rotate_blobs.py" "$2" \
        "$T/app.json" t1 >"$T/py.out" 2>"$T/py.err"
}
# objects CONFIG: the token keys pkcs11-tool lists.
objects() {
    cmk_host env CMK_PKCS11_CONFIG="$1" pkcs11-tool --module "$CMK_MODULE" \
        --token-label acme --login --pin 1234 -O --type secrkey 2>&1
}
# A copy of the config without acme's previous_keks.
noprev() {
    "$CMK_PYTHON" - "$CFG" "$T/noprev.json" <<'PY' || fail "cannot edit the config"
import json, sys
c = json.load(open(sys.argv[1]))
c["tenants"][0].pop("previous_keks", None)
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
    chmod 600 "$T/noprev.json"
}
# hold FILE SECONDS: an flock on FILE, held by $holder in the background.
hold() {
    (
        exec 9>>"$1"
        flock -x 9
        exec sleep "$2"
    ) &
    holder=$!
    sleep 0.5
}
# other_key NAME: another key in place of $T/NAME.key (the old one kept
# as NAME.orig), as when its owner destroys it.
other_key() {
    mv "$T/$1.key" "$T/$1.orig"
    "$CMK_TOOL" local-key --out "$T/$1.key" >/dev/null || cmk_error "local-key"
}
put_back() { mv -f "$T/$1.orig" "$T/$1.key"; }

echo "== a provisioned dual-control tenant with objects and blobs"
"$CMK_TOOL" local-key --out "$T/platform.key" >/dev/null || cmk_error "local-key"
cmk_tenant "$T" acme 1234 ", \"dual_control\": {\"provider\": \"local\", \"key\": \"$T/platform.key\"}"
mkdir -m 700 "$T/audit"
printf '{\n  "version": 1,\n  "store_dir": "%s",\n  "audit": {"file": "%s"},\n  "tenants": [\n    %s\n  ]\n}\n' \
    "$T/store" "$A" "$CMK_TENANTS" >"$CFG"
chmod 600 "$CFG"
cmk_provision "$CFG" acme
app "$CFG" make || { cat "$T/py.err" >&2; fail "rotate_blobs.py make"; }
cmk_host env CMK_PKCS11_CONFIG="$CFG" pkcs11-tool --module "$CMK_MODULE" \
    --token-label acme --login --pin 1234 --keygen --key-type AES:32 \
    --id 21 --label dual-dek --sensitive >/dev/null 2>&1 || fail "keygen"
blobs "$CFG" "$T/blobs" make
[ "$(blobs "$CFG" "$T/blobs" check)" = "kwp=5 kw=5 gcm=5" ] || fail "blobs before"
cp -a "$T/blobs" "$T/blobs.old"
old_kek=$(member kek)
old_pkek=$(member dual_control kek)
old_commit=$(member kek_commitment)

echo "== rotate-kek killed while it waits for the store"
mkdir -p "$T/store/acme"
hold "$T/store/acme/.lock" 60
"$CMK_TOOL" rotate-kek --config "$CFG" --tenant acme >"$T/out" 2>"$T/err" &
tool=$!
for _ in $(seq 100); do
    grep -q previous_keks "$CFG" 2>/dev/null && break
    sleep 0.1
done
grep -q previous_keks "$CFG" || fail "the config was not switched: $(cat "$T/err")"
kill -9 "$tool"
wait "$tool" 2>/dev/null
kill "$holder"
wait "$holder" 2>/dev/null
J=$T/store/acme/kek-rotation.journal
[ -f "$J" ] || fail "no journal after the kill"
[ "$(head -n 1 "$J")" = "cmk-kek-rotation 2" ] || fail "journal magic: $(head -n 1 "$J")"
[ "$(sed -n 's/^old_provider_kek //p' "$J")" = "$old_pkek" ] ||
    fail "journal: old provider half"
new_pkek=$(sed -n 's/^new_provider_kek //p' "$J")
new_commit=$(sed -n 's/^new_commitment //p' "$J")
# One write: both new halves, the commitment and the old pair.
[ "$(member dual_control kek)" = "$new_pkek" ] || fail "dual_control.kek not the new half"
[ "$(member kek_commitment)" = "$new_commit" ] || fail "kek_commitment not the new one"
[ "$(member kek)" != "$old_kek" ] || fail "kek not replaced"
[ "$new_pkek" != "$old_pkek" ] || fail "the provider half was not replaced"
[ "$(member previous_keks)" = 1 ] || fail "previous_keks: $(member previous_keks)"
[ "$(member previous_keks 0 kek)" = "$old_kek" ] || fail "previous_keks[0].kek"
[ "$(member previous_keks 0 provider_kek)" = "$old_pkek" ] ||
    fail "previous_keks[0].provider_kek"
[ "$(member previous_keks 0 kek_commitment)" = "$old_commit" ] ||
    fail "previous_keks[0].kek_commitment"

echo "== during: objects through the previous KEK"
app "$CFG" check || { cat "$T/py.err" >&2; fail "objects and blobs during"; }
grep -q 'label: *dual-dek' <<<"$(objects "$CFG")" || fail "dual-dek during"
noprev
grep -q 'label: *dual-dek' <<<"$(objects "$T/noprev.json")" &&
    fail "dual-dek read without the previous KEK before the re-seal"

echo "== resumed"
expect 0 "$CMK_TOOL" rotate-kek --config "$CFG" --tenant acme
grep -q '^tenant acme: resuming the rotation begun ' "$T/out" || fail "$(cat "$T/out")"
grep -qx 'tenant acme: data-key rotation complete: 2 token objects under the new KEK' \
    "$T/out" || fail "$(cat "$T/out")"
[ -e "$J" ] && fail "journal left behind"
[ "$(member dual_control kek)" = "$new_pkek" ] || fail "the resumed run changed the halves"
expect 0 "$CMK_TOOL" kek-commit --config "$CFG" --tenant acme
[ "$(cat "$T/out")" = "$new_commit" ] || fail "kek-commit: $(cat "$T/out")"

echo "== after: objects under the new KEK, old blobs in the window"
noprev
grep -q 'label: *dual-dek' <<<"$(objects "$T/noprev.json")" ||
    fail "dual-dek not under the new KEK"
[ "$(blobs "$CFG" "$T/blobs" check)" = "kwp=5 kw=5 gcm=5" ] ||
    fail "old KEK-path blobs through the previous pair"
[ "$(blobs "$T/noprev.json" "$T/blobs" check)" = "kwp=0 kw=0 gcm=0" ] ||
    fail "old KEK-path blobs without the previous pair"

echo "== rewrap --kek-path"
for kind in kwp kw gcm; do
    expect 0 "$CMK_TOOL" rewrap --config "$CFG" --tenant acme --kek-path \
        --mech "$kind" "$T/blobs/$kind"
done
[ "$(blobs "$T/noprev.json" "$T/blobs" check)" = "kwp=5 kw=5 gcm=5" ] ||
    fail "rewrapped blobs under the new KEK alone"
[ "$(grep '"event":"blob_rewrapped"' "$A" | grep -F '"result":"ok"' |
    grep -cF "\"key_old\":\"$old_commit\",\"key_new\":\"$new_commit\"")" = 15 ] ||
    fail "blob_rewrapped records"

echo "== audit"
[ "$(grep -c '"event":"data_key_rotation_started"' "$A")" = 1 ] || fail "started records"
grep '"event":"data_key_rotation_completed"' "$A" | grep -qF \
    "\"key_old\":\"$old_commit\",\"key_new\":\"$new_commit\",\"count\":2," ||
    fail "completed: $(grep completed "$A")"
expect 0 "$CMK_TOOL" audit verify --config "$CFG" "$A"

echo "== rotate-cmk moves the old customer half, keeps its provider half"
"$CMK_TOOL" local-key --out "$T/acme2.key" >/dev/null || cmk_error "local-key"
expect 0 "$CMK_TOOL" rotate-cmk --config "$CFG" --tenant acme --to "$T/acme2.key" --force
grep -qx 'previous KEKs in their window re-encrypted and checked: 1 of 1' "$T/out" ||
    fail "rotate-cmk: $(cat "$T/out")"
[ "$(member previous_keks 0 kek)" != "$old_kek" ] || fail "old customer half not moved"
[ "$(member previous_keks 0 provider_kek)" = "$old_pkek" ] || fail "old provider half changed"
[ "$(member previous_keks 0 kek_commitment)" = "$old_commit" ] || fail "old commitment changed"
[ "$(member dual_control kek)" = "$new_pkek" ] || fail "provider half changed"
other_key acme # the old CMK destroyed
[ "$(oldblobs "$CFG")" = "kwp=5 kw=5 gcm=5" ] ||
    fail "old blobs through the moved pair, old CMK gone"
[ "$(blobs "$CFG" "$T/blobs" check)" = "kwp=5 kw=5 gcm=5" ] ||
    fail "rewrapped blobs, old CMK gone"
grep -q 'label: *dual-dek' <<<"$(objects "$CFG")" || fail "dual-dek, old CMK gone"
put_back acme # direct-path blobs of the old CMK need it back
app "$CFG" check || { cat "$T/py.out" "$T/py.err" >&2; fail "objects after rotate-cmk"; }

echo "== another provider key: old and new KEK stop"
other_key platform
[ "$(oldblobs "$CFG")" = "kwp=0 kw=0 gcm=0" ] ||
    fail "old-KEK blobs without the provider key"
[ "$(blobs "$CFG" "$T/blobs" check)" = "kwp=0 kw=0 gcm=0" ] ||
    fail "new-KEK blobs without the provider key"
grep -q 'dual-dek' <<<"$(objects "$CFG")" && fail "dual-dek without the provider key"
expect 1 "$CMK_TOOL" rotate-kek --config "$CFG" --tenant acme --force
grep -q 'provider key (dual_control.key): the KEK half does not unwrap' "$T/err" ||
    fail "rotate-kek without the provider key: $(cat "$T/err")"
put_back platform
[ -e "$J" ] && fail "a refused run left a journal"

echo "== a second rotation, then --finish keeps the live pair"
expect 0 "$CMK_TOOL" rotate-kek --config "$CFG" --tenant acme --force
[ "$(member previous_keks)" = 2 ] || fail "previous_keks: $(member previous_keks)"
[ "$(member previous_keks 1 provider_kek)" = "$old_pkek" ] || fail "first pair lost"
keep_pkek=$(member previous_keks 0 provider_kek)
[ "$keep_pkek" = "$new_pkek" ] || fail "second pair: provider half"
"$CMK_PYTHON" - "$CFG" <<'PY' || fail "cannot edit the config"
import json, sys
c = json.load(open(sys.argv[1]))
c["tenants"][0]["previous_keks"][1]["expires"] = "2001-01-01T00:00:00Z"
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
expect 0 "$CMK_TOOL" rotate-kek --config "$CFG" --tenant acme --finish
grep -qx 'tenant acme: 1 expired previous KEKs dropped, 1 kept' "$T/out" ||
    fail "--finish: $(cat "$T/out")"
[ "$(member previous_keks)" = 1 ] || fail "previous_keks after --finish"
[ "$(member previous_keks 0 provider_kek)" = "$keep_pkek" ] ||
    fail "--finish lost provider_kek"
[ "$(blobs "$CFG" "$T/blobs" check)" = "kwp=5 kw=5 gcm=5" ] ||
    fail "blobs of the kept previous pair"
[ "$(oldblobs "$CFG")" = "kwp=0 kw=0 gcm=0" ] ||
    fail "blobs of the dropped pair"
noprev
grep -q 'label: *dual-dek' <<<"$(objects "$T/noprev.json")" ||
    fail "dual-dek not under the newest KEK"
echo "PASS"
