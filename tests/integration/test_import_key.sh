#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: cmk-tool import-key on the local provider. Every refused key
# file with its exact message and exit code (nothing written), a good
# import (the new key file, the config: key, previous_keys, the KEK sealed
# again with the same commitment), the module afterwards (blobs sealed
# before open through previous_keys and stop opening without it, blobs
# sealed after open under the imported key), the minimum interval between
# key changes (refused, --force recorded, a key-change.last in the past
# written here, a damaged one, interval 0), and the audit file: verified,
# key_imported and key_change_forced with their fields, no key bytes.
. "$(dirname "$0")/lib.sh"

cmk_need_module
cmk_need_pykcs11
cmk_tmpdir
T=$CMK_TMP
TOOL=$CMK_TOOL
PY=$top_srcdir/tests/integration/import_pykcs11.py

# expect RC CMD...: runs CMD, output in $T/out and $T/err.
expect() { cmk_expect "$@"; }

# err_is TEXT: stderr is exactly that one line.
err_is() {
    [ "$(cat "$T/err")" = "$1" ] ||
        cmk_fail "stderr: '$(cat "$T/err")', expected '$1'"
}

unchanged() {
    cmp -s "$cfg" "$T/config.before" || cmk_fail "$1: the config changed"
    [ "$(ls "$T"/keys/acme-imported-* 2>/dev/null | wc -l)" = "$2" ] ||
        cmk_fail "$1: key files: $(ls "$T"/keys)"
}

# json EXPR: a value of the config (python expression over c).
json() {
    "$CMK_PYTHON" -c 'import json, sys
c = json.load(open(sys.argv[1]))
t = c["tenants"][0]
print(eval(sys.argv[2]))' "$cfg" "$1"
}

host() { CMK_PKCS11_CONFIG=$cfg cmk_host "$CMK_PYTHON" "$PY" "$@"; }

mkdir -m 700 "$T/keys"
cmk_tenant "$T/keys" acme 1234
cmk_tenant "$T/keys" beta 5678
cfg=$T/config.json
cmk_write_config "$cfg" "$T/store"
"$CMK_PYTHON" - "$cfg" "$T/audit.jsonl" <<'PY' || cmk_error "config edit"
import json, sys
c = json.load(open(sys.argv[1]))
c["audit"] = {"file": sys.argv[2], "key_tenant": "beta"}
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
chmod 600 "$cfg"
cmk_provision "$cfg" acme
cmk_provision "$cfg" beta
old_key=$T/keys/acme.key
old_kek=$(json 't["kek"]')
commit=$(json 't["kek_commitment"]')

echo "== module before the import"
host seal acme 1234 "$T/before" || cmk_fail "seal before the import"

echo "== key files refused (exit 2, nothing written)"
umask 077
cp "$cfg" "$T/config.before"
K=$T/cust.key
# bad KEYFILE MESSAGE
bad() {
    expect 2 "$TOOL" import-key --config "$cfg" --tenant acme --key-file "$1"
    err_is "cmk-tool: $1: $2"
    unchanged "$1" 0
    echo "ok: refused: $2"
}
head -c 31 /dev/urandom >"$T/k31"
bad "$T/k31" "31 bytes: key material must be exactly 32 bytes (a raw AES-256 key)"
head -c 33 /dev/urandom >"$T/k33"
bad "$T/k33" "33 bytes: key material must be exactly 32 bytes (a raw AES-256 key)"
: >"$T/k0"
bad "$T/k0" "0 bytes: key material must be exactly 32 bytes (a raw AES-256 key)"
head -c 32 /dev/zero >"$T/zero"
bad "$T/zero" "all 32 bytes are zero: not key material"
printf 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' >"$T/same"
bad "$T/same" "one byte repeated 32 times: not random key material"
printf 'abcabcabcabcabcabcabcabcabcabcab' >"$T/p3"
bad "$T/p3" "a pattern of 3 bytes repeated: not random key material"
head -c 16 /dev/urandom >"$T/half"
cat "$T/half" "$T/half" >"$T/p16"
bad "$T/p16" "a pattern of 16 bytes repeated: not random key material"
head -c 32 /dev/urandom >"$K"
chmod 644 "$K"
bad "$K" "readable or writable by group or others (mode 0644): key material must be mode 0600"
chmod 602 "$K"
bad "$K" "readable or writable by group or others (mode 0602): key material must be mode 0600"
chmod 600 "$K"
ln -s "$K" "$T/link.key"
bad "$T/link.key" "is a symbolic link: give the key file itself"
mkdir "$T/dir.key"
bad "$T/dir.key" "not a regular file"
mkfifo "$T/fifo.key"
bad "$T/fifo.key" "not a regular file"
bad "$T/missing.key" "cannot open: No such file or directory"
expect 2 "$TOOL" import-key --config "$cfg" --tenant acme --key-file "$K" --aws
err_is 'cmk-tool: --aws: tenant "acme" is on the local provider'
expect 2 "$TOOL" import-key --config "$cfg" --tenant acme --key-file "$K" \
    --valid-to 2030-01-01T00:00:00Z
err_is "cmk-tool: --valid-to and --wrapping-key-spec go with --aws"
expect 2 "$TOOL" import-key --config "$cfg" --tenant acme --key-file "$K" \
    --out relative.key
err_is "cmk-tool: --out: must be an absolute path"
expect 2 "$TOOL" import-key --config "$cfg" --tenant nobody --key-file "$K"
expect 2 "$TOOL" import-key --config "$cfg" --tenant acme
expect 0 "$TOOL" import-key --help
grep -q 'previous_keys' "$T/out" || cmk_fail "--help says nothing of previous_keys"
expect 1 "$TOOL" import-key --config "$cfg" --tenant acme --key-file "$old_key"
err_is "cmk-tool: tenant \"acme\": $old_key holds the tenant's current key already"
# A pattern of 17 bytes is not refused as one: the import goes as far as
# the new key file (an existing --out here), exit 1.
head -c 17 /dev/urandom >"$T/h17"
{ cat "$T/h17"; head -c 15 "$T/h17"; } >"$T/p17"
expect 1 "$TOOL" import-key --config "$cfg" --tenant acme --key-file "$T/p17" \
    --out "$old_key"
err_is "cmk-tool: $old_key: already exists; refusing to overwrite it"
unchanged "--out onto the old key" 0
# A key file the module would refuse later (its directory writable by
# anyone) is refused now and removed.
mkdir -m 777 "$T/open"
expect 1 "$TOOL" import-key --config "$cfg" --tenant acme --key-file "$K" \
    --out "$T/open/acme.key"
grep -q "^cmk-tool: $T/open.*writable by group or others" "$T/err" ||
    cmk_fail "untrusted --out: $(cat "$T/err")"
[ ! -e "$T/open/acme.key" ] || cmk_fail "untrusted --out left behind"
unchanged "untrusted --out" 0
[ ! -e "$T/store/acme/key-change.last" ] ||
    cmk_fail "a refused import recorded a key change"

echo "== import"
expect 0 "$TOOL" import-key --config "$cfg" --tenant acme --key-file "$K"
new=$(sed -n 's/^acme: imported: //p' "$T/out")
case $new in
"$T/keys/acme-imported-"*Z.key) ;;
*) cmk_fail "unexpected new key file: $(cat "$T/out")" ;;
esac
cmp -s "$new" "$K" || cmk_fail "the new key file does not hold the key"
[ "$(stat -c %a "$new")" = 600 ] || cmk_fail "new key file mode $(stat -c %a "$new")"
[ "$(json 't["key"]')" = "$new" ] || cmk_fail "key: $(json 't["key"]')"
[ "$(json 't["previous_keys"]')" = "['$old_key']" ] ||
    cmk_fail "previous_keys: $(json 't["previous_keys"]')"
[ "$(json 't["kek"]')" != "$old_kek" ] || cmk_fail "the KEK was not sealed again"
[ "$(json 't["kek_commitment"]')" = "$commit" ] ||
    cmk_fail "the KEK's commitment changed"
[ "$(json 'c["tenants"][1]["key"]')" = "$T/keys/beta.key" ] ||
    cmk_fail "the other tenant changed"
[ "$(stat -c %a "$cfg")" = 600 ] || cmk_fail "config mode changed"
ls "$T" | grep -q 'tmp-' && cmk_fail "temporary file left behind"
grep -Eq "^[1-9][0-9]* import-key\$" "$T/store/acme/key-change.last" ||
    cmk_fail "key-change.last: $(cat "$T/store/acme/key-change.last")"
[ "$(stat -c %a "$T/store/acme/key-change.last")" = 600 ] ||
    cmk_fail "key-change.last mode"
expect 0 "$TOOL" health --config "$cfg"
echo "ok: imported into $new"

echo "== module after the import"
host open acme 1234 "$T/before" || cmk_fail "blobs sealed before the import"
host seal acme 1234 "$T/after" || cmk_fail "seal after the import"
host open acme 1234 "$T/after" || cmk_fail "blobs sealed after the import"
# Without previous_keys the old blobs stop opening, the new ones do not:
# they are sealed under the imported key.
cp "$cfg" "$T/config.full"
"$CMK_PYTHON" - "$cfg" <<'PY' || cmk_error "config edit"
import json, sys
c = json.load(open(sys.argv[1]))
del c["tenants"][0]["previous_keys"]
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
host refused acme 1234 "$T/before" CKR_WRAPPED_KEY_INVALID ||
    cmk_fail "a pre-import blob opened without previous_keys"
host open acme 1234 "$T/after" || cmk_fail "imported key alone"
host open acme 1234 "$T/before" kwp || cmk_fail "KEK path after the import"
cp "$T/config.full" "$cfg"

echo "== minimum interval between key changes"
head -c 32 /dev/urandom >"$T/k2"
cp "$cfg" "$T/config.before"
expect 1 "$TOOL" import-key --config "$cfg" --tenant acme --key-file "$T/k2"
last=$(cut -d' ' -f1 "$T/store/acme/key-change.last")
at=$(date -u -d "@$last" +%Y-%m-%dT%H:%M:%SZ)
from=$(date -u -d "@$((last + 600))" +%Y-%m-%dT%H:%M:%SZ)
grep -Eq "^cmk-tool: tenant \"acme\": the last key change \(import-key\) was at $at and key_change_interval_seconds is 600: the next is allowed from $from \(in [0-9]+ s\); --force overrides this \(recorded in the audit file\)\$" "$T/err" ||
    cmk_fail "refusal: $(cat "$T/err")"
unchanged "within the interval" 1
echo "ok: a second change within 600 s refused"
expect 0 "$TOOL" import-key --config "$cfg" --tenant acme --key-file "$T/k2" \
    --force
grep -q 'import-key forced [0-9]* s after the last key change (import-key at '"$at"'); key_change_interval_seconds is 600 (recorded as key_change_forced)' "$T/err" ||
    cmk_fail "forced: $(cat "$T/err")"
new2=$(sed -n 's/^acme: imported: //p' "$T/out")
[ "$(json 't["previous_keys"]')" = "['$new', '$old_key']" ] ||
    cmk_fail "previous_keys after two imports: $(json 't["previous_keys"]')"
host open acme 1234 "$T/before" || cmk_fail "two imports later"
echo "ok: --force passes"

# The store file in the past, as written by another command.
head -c 32 /dev/urandom >"$T/k3"
now=$(date +%s)
printf '%s rotate-cmk\n' "$((now - 10))" >"$T/store/acme/key-change.last"
expect 1 "$TOOL" import-key --config "$cfg" --tenant acme --key-file "$T/k3"
at=$(date -u -d "@$((now - 10))" +%Y-%m-%dT%H:%M:%SZ)
from=$(date -u -d "@$((now + 590))" +%Y-%m-%dT%H:%M:%SZ)
grep -Eq "^cmk-tool: tenant \"acme\": the last key change \(rotate-cmk\) was at $at and key_change_interval_seconds is 600: the next is allowed from $from \(in 5[0-9][0-9] s\);" "$T/err" ||
    cmk_fail "refusal after rotate-cmk: $(cat "$T/err")"
printf '%s rotate-cmk\n' "$((now - 601))" >"$T/store/acme/key-change.last"
expect 0 "$TOOL" import-key --config "$cfg" --tenant acme --key-file "$T/k3"
[ -s "$T/err" ] && cmk_fail "allowed change said: $(cat "$T/err")"
echo "ok: 601 s after the last change, no --force needed"
head -c 32 /dev/urandom >"$T/k4"
printf 'yesterday\n' >"$T/store/acme/key-change.last"
expect 1 "$TOOL" import-key --config "$cfg" --tenant acme --key-file "$T/k4"
err_is "cmk-tool: tenant \"acme\": the time of the last key change is unknown: $T/store/acme/key-change.last: expected one line \"SECONDS COMMAND\" (the Unix time and the command of the last key change); --force overrides this (recorded in the audit file)"
printf '%s import-key\n' "$((now + 3600))" >"$T/store/acme/key-change.last"
expect 1 "$TOOL" import-key --config "$cfg" --tenant acme --key-file "$T/k4"
grep -q "key-change.last: names a time 3[56][0-9][0-9] s in the future" "$T/err" ||
    cmk_fail "future time: $(cat "$T/err")"
printf '%s import-key\n' "$((now - 700))" >"$T/store/acme/key-change.last"
chmod 644 "$T/store/acme/key-change.last"
expect 1 "$TOOL" import-key --config "$cfg" --tenant acme --key-file "$T/k4"
grep -q "the time of the last key change is unknown: .*key-change.last" "$T/err" ||
    cmk_fail "mode 0644: $(cat "$T/err")"
expect 0 "$TOOL" import-key --config "$cfg" --tenant acme --key-file "$T/k4" \
    --force
grep -q 'import-key forced with the time of the last key change unknown' "$T/err" ||
    cmk_fail "forced over a refused record: $(cat "$T/err")"
[ "$(stat -c %a "$T/store/acme/key-change.last")" = 600 ] ||
    cmk_fail "key-change.last not replaced"
"$CMK_PYTHON" - "$cfg" <<'PY' || cmk_error "config edit"
import json, sys
c = json.load(open(sys.argv[1]))
c["tenants"][0]["key_change_interval_seconds"] = 0
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
head -c 32 /dev/urandom >"$T/k5"
expect 0 "$TOOL" import-key --config "$cfg" --tenant acme --key-file "$T/k5"
echo "ok: key_change_interval_seconds 0: no interval"
host open acme 1234 "$T/before" || cmk_fail "five imports later"
host open acme 1234 "$T/after" || cmk_fail "four imports later"

echo "== audit"
expect 0 "$TOOL" audit verify --config "$cfg" "$T/audit.jsonl"
"$CMK_PYTHON" - "$T/audit.jsonl" "$old_key" "$new" "$new2" <<'PY' ||
import json, sys
recs = [json.loads(l.strip("\0\n")) for l in open(sys.argv[1])
        if l.strip("\0\n")]
imp = [r for r in recs if r["event"] == "key_imported"]
assert len(imp) == 5, "key_imported records: %d" % len(imp)
r = imp[0]
want = {"op": "cmk-tool import-key", "tenant": "acme", "result": "ok",
        "key_old": sys.argv[2], "key_new": sys.argv[3],
        "detail": "origin: local key file; expiry: none; old key kept in "
                  "previous_keys"}
for k, v in want.items():
    assert r.get(k) == v, "key_imported %s: %r" % (k, r.get(k))
assert imp[1]["key_old"] == sys.argv[3] and imp[1]["key_new"] == sys.argv[4]
forced = [r for r in recs if r["event"] == "key_change_forced"]
assert len(forced) == 2, "key_change_forced records: %d" % len(forced)
assert forced[0]["op"] == "cmk-tool import-key"
assert forced[0]["tenant"] == "acme" and forced[0]["result"] == "ok"
assert forced[0]["detail"].startswith("import-key forced "), forced[0]
assert forced[0]["detail"].endswith(
    "; key_change_interval_seconds is 600"), forced[0]
assert forced[1]["detail"].startswith(
    "import-key forced with the time of the last key change unknown: ")
# The forced record comes before the import it allowed.
i = recs.index(forced[0])
assert [r["event"] for r in recs[i:]].index("key_imported") > 0
print("ok: key_imported and key_change_forced records")
PY
    cmk_fail "audit records"
for f in "$K" "$T/k2" "$T/k3" "$T/k4" "$T/k5"; do
    hex=$(od -An -tx1 "$f" | tr -d ' \n')
    b64=$(base64 -w0 "$f")
    if grep -qiF -e "$hex" -e "$b64" "$T/audit.jsonl" "$T/config.json"; then
        cmk_fail "key material of $f in the audit file or config"
    fi
done
echo "ok: no key material in the audit file or config"
echo "PASS"
