#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: cmk-tool encrypt / decrypt / rekey on the local provider:
# round trips at the chunk boundaries and 100 MiB on both key paths and
# both ciphers, the format checked by an independent reader
# (file_tamper.py opens KEK-path files with the known KEK), every tamper
# case (exit 1, the exact message, no OUT and no temporary file), the
# wrong tenant, a revoked key, PIN handling, rekey, stdin/stdout, a
# signal during a run, and the encryption_started / encryption_completed
# audit records.
# Exit codes: 0 pass, 1 fail, 77 skip (99 under CI=true).
. "$(dirname "$0")/lib.sh"

cmk_need_module
[ -x "$CMK_PYTHON" ] || cmk_missing "$CMK_PYTHON is not installed"
"$CMK_PYTHON" -c 'import cryptography' 2>/dev/null ||
    cmk_missing "python3-cryptography not importable"
cmk_need sha256sum
cmk_tmpdir
T=$CMK_TMP
TAMPER=$top_srcdir/tests/integration/file_tamper.py
tamper() { "$CMK_PYTHON" "$TAMPER" "$@" || cmk_error "file_tamper.py $*"; }

# Tenants: acme (PIN 1234, KEK known to the test), beta (PIN 5678),
# open (no login), all on the local provider, with an audit file whose
# chain keys beta's CMK seals (acme's is revoked for a while below).
head -c 32 /dev/urandom >"$T/acme.kek" && chmod 600 "$T/acme.kek"
cmk_tenant "$T" acme 1234
cmk_tenant "$T" beta 5678
cmk_tenant "$T" open 0000 ', "login_required": false'
cmk_write_config "$T/config.json" "$T/store"
mkdir -m 700 "$T/audit"
"$CMK_PYTHON" - "$T/config.json" "$T/audit/audit.jsonl" <<'PY' ||
import json, sys
c = json.load(open(sys.argv[1]))
c["audit"] = {"file": sys.argv[2], "key_tenant": "beta"}
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
    cmk_error "cannot add the audit file"
cmk_provision "$T/config.json" acme --import-kek "$T/acme.kek"
cmk_provision "$T/config.json" beta
cmk_provision "$T/config.json" open
CFG=$T/config.json
printf '1234\n' >"$T/acme.pin" && printf '5678\n' >"$T/beta.pin" &&
    chmod 600 "$T/acme.pin" "$T/beta.pin" || cmk_error "PIN files"
ACME=(--config "$CFG" --tenant acme --pin-file "$T/acme.pin")
BETA=(--config "$CFG" --tenant beta --pin-file "$T/beta.pin")
mkdir "$T/w" || cmk_error "mkdir"
W=$T/w # outputs of failing runs go here: it must stay empty

# cmk-tool is built with the module (sanitizers included): run it as is.
tool() { timeout -k 10 600 "$CMK_TOOL" "$@"; }

# expect RC CMD...: exit status RC; stdout and stderr kept in $T/out, $T/err.
expect() {
    local want=$1 rc
    shift
    tool "$@" >"$T/out" 2>"$T/err"
    rc=$?
    if [ "$rc" != "$want" ]; then
        tail -n 20 "$T/out" "$T/err" >&2
        cmk_fail "cmk-tool $*: exit $rc, expected $want"
    fi
}

# refused WHAT MESSAGE IN: decrypt of IN as acme exits 1 with exactly
# "cmk-tool: IN: MESSAGE" and leaves nothing in $W.
refused() {
    local what=$1 msg=$2 in=$3
    expect 1 decrypt "${ACME[@]}" "$in" "$W/out"
    [ "$(cat "$T/err")" = "cmk-tool: $in: $msg" ] ||
        cmk_fail "$what: message '$(cat "$T/err")', expected 'cmk-tool: $in: $msg'"
    [ -z "$(ls -A "$W")" ] && echo "ok: $what -> $msg" ||
        cmk_fail "$what: left $(ls -A "$W")"
}

sha() { sha256sum <"$1" | cut -d' ' -f1; }

# roundtrip FILE PATH CIPHER [CHUNK]: encrypt, decrypt, same bytes; KEK
# path files are also opened by file_tamper.py with the tenant KEK.
roundtrip() {
    local f=$1 p=$2 c=$3 k=${4:-65536}
    expect 0 encrypt "${ACME[@]}" --path "$p" --cipher "$c" --chunk "$k" \
        "$f" "$T/rt.enc"
    expect 0 decrypt "${ACME[@]}" "$T/rt.enc" "$T/rt.out"
    [ "$(sha "$f")" = "$(sha "$T/rt.out")" ] ||
        cmk_fail "round trip $p $c $k of $(stat -c %s "$f") bytes differs"
    [ "$(stat -c %a "$T/rt.enc")" = 600 ] || cmk_fail "OUT mode not 0600"
    if [ "$p" = kek ]; then
        "$CMK_PYTHON" "$TAMPER" open "$T/rt.enc" "$T/acme.kek" "$T/rt.py" &&
            cmp -s "$f" "$T/rt.py" ||
            cmk_fail "independent reader: $p $c $k differs"
    fi
    rm -f "$T/rt.enc" "$T/rt.out" "$T/rt.py"
}

echo "== round trips"
for n in 0 1 4095 4096 4097 65535 65536 65537 200000; do
    head -c "$n" /dev/urandom >"$T/p.$n"
done
for p in direct kek; do
    for c in aes-256-gcm xchacha20-poly1305; do
        for n in 0 1 65535 65536 65537 200000; do
            roundtrip "$T/p.$n" "$p" "$c"
        done
        for n in 4095 4096 4097; do
            roundtrip "$T/p.$n" "$p" "$c" 4096
        done
        echo "ok: $p $c at 0, 1, chunk-1, chunk, chunk+1 (64 KiB, 4 KiB)"
    done
done
# Chunk counts: a file of exactly one chunk ends with an empty final one.
expect 0 encrypt "${ACME[@]}" --chunk 4K "$T/p.4096" "$T/c.enc"
[ "$(tamper field "$T/c.enc" chunks)" = 2 ] || cmk_fail "4096 bytes: not 2 chunks"
[ "$(tamper field "$T/c.enc" chunk)" = 4096 ] || cmk_fail "--chunk 4K"
[ "$(stat -c %s "$T/c.enc")" = $((13 + 4 + 2 + $(tamper field "$T/c.enc" wrapped | wc -c) / 2 + 4 + 2 * (4 + 16) + 4096)) ] ||
    cmk_fail "size of a one-chunk file"
echo "ok: layout of a one-chunk file"

echo "== reading ahead (chunks of 512 KiB and more)"
K=524288
for n in 0 1 $((K - 1)) $K $((K + 1)) $((3 * K)) $((3 * K + 5)); do
    head -c "$n" /dev/urandom >"$T/ra.$n"
    for c in aes-256-gcm xchacha20-poly1305; do
        roundtrip "$T/ra.$n" kek "$c" $K
    done
done
echo "ok: kek both ciphers at 0, 1, chunk-1, chunk, chunk+1, 3 chunks(+5) (512 KiB)"
# From a pipe that delivers the data in two parts with a pause between.
R=$T/ra.$((3 * K + 5))
{ head -c 300001 "$R"; sleep 0.3; tail -c +300002 "$R"; } |
    tool encrypt "${ACME[@]}" --path kek --chunk 512K - "$T/ra.enc" ||
    cmk_fail "encrypt a slow pipe reading ahead"
"$CMK_PYTHON" "$TAMPER" open "$T/ra.enc" "$T/acme.kek" "$T/ra.py" &&
    cmp -s "$R" "$T/ra.py" || cmk_fail "slow pipe: independent reader differs"
echo "ok: a pipe delivering in parts, read ahead"
# The output fails (stdout, a pipe whose reader leaves after 4 KiB: the
# header went through, the first chunk does not) while the reader thread
# waits on an input pipe that stays open: the tool still ends at once,
# exit 1.
mkfifo "$T/fifo" "$T/fifo2"
(
    trap '' PIPE
    exec "$CMK_TOOL" encrypt "${ACME[@]}" --chunk 512K - -
) <"$T/fifo" >"$T/fifo2" 2>"$T/err" &
pid=$!
head -c 4096 <"$T/fifo2" >/dev/null &
exec 9>"$T/fifo"
head -c 600000 "$R" >&9 2>/dev/null
for i in $(seq 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid"
    exec 9>&-
    cmk_fail "encrypt hangs after a write error while reading ahead"
fi
rc=0
wait "$pid" || rc=$?
exec 9>&-
[ "$rc" = 1 ] || cmk_fail "write error reading ahead: exit $rc, expected 1"
[ "$(cat "$T/err")" = "cmk-tool: stdout: write failed: Broken pipe
cmk-tool: stdin: the output cannot be written" ] ||
    cmk_fail "write error reading ahead: $(cat "$T/err")"
echo "ok: a write error while the reader waits on a pipe: exit 1 at once"
rm -f "$T/fifo" "$T/fifo2" "$T"/ra.*

echo "== 100 MiB"
head -c $((100 * 1024 * 1024)) /dev/urandom >"$T/big"
for p in direct kek; do
    for c in aes-256-gcm xchacha20-poly1305; do
        expect 0 encrypt "${ACME[@]}" --path "$p" --cipher "$c" "$T/big" "$T/big.enc"
        expect 0 decrypt "${ACME[@]}" "$T/big.enc" "$T/big.out"
        [ "$(sha "$T/big")" = "$(sha "$T/big.out")" ] || cmk_fail "100 MiB $p $c"
        echo "ok: 100 MiB $p $c (sha256)"
    done
done
rm -f "$T/big.out"

echo "== stdin and stdout"
tool encrypt "${ACME[@]}" --path kek - - <"$T/p.200000" >"$T/s.enc" ||
    cmk_fail "encrypt stdin to stdout"
tool decrypt "${ACME[@]}" - - <"$T/s.enc" >"$T/s.out" ||
    cmk_fail "decrypt stdin to stdout"
cmp -s "$T/p.200000" "$T/s.out" || cmk_fail "stdin/stdout round trip"
# A failure late in the file: the authenticated chunks before it were
# written, the command exits 1 (the README says to discard them).
expect 0 encrypt "${ACME[@]}" --chunk 4K "$T/p.200000" "$T/a.enc"
tamper drop-last "$T/a.enc" "$T/t.enc"
if tool decrypt "${ACME[@]}" "$T/t.enc" - >"$T/s.out" 2>"$T/err"; then
    cmk_fail "stdout: truncated file accepted"
fi
[ "$(stat -c %s "$T/s.out")" = $((48 * 4096)) ] ||
    cmk_fail "stdout before the failure: $(stat -c %s "$T/s.out") bytes"
echo "ok: stdin/stdout; late failure exits 1 after 48 checked chunks"

echo "== tampering (each: exit 1, exact message, no OUT)"
AUTH="failed authentication (the file was changed, or chunks were reordered, dropped or taken from another file)"
expect 0 encrypt "${ACME[@]}" --chunk 4K "$T/p.200000" "$T/b.enc"
n=$(tamper field "$T/a.enc" chunks)
[ "$n" = 49 ] || cmk_fail "200000 bytes in 4 KiB chunks: $n chunks"
# header fields
tamper header "$T/a.enc" "$T/t.enc" magic
refused "header magic" "not a cmk-tool encrypted file (bad magic)" "$T/t.enc"
tamper header "$T/a.enc" "$T/t.enc" version
refused "header version" "file format version 0 is not supported" "$T/t.enc"
for f in path cipher prefix_len; do
    tamper header "$T/a.enc" "$T/t.enc" "$f"
    refused "header $f" "damaged header (key path, cipher, nonce prefix, chunk size or label length)" "$T/t.enc"
done
tamper header "$T/a.enc" "$T/t.enc" chunk
refused "header chunk size" "chunk 0: damaged chunk header" "$T/t.enc"
tamper header "$T/a.enc" "$T/t.enc" label
refused "header label" 'encrypted for tenant "`cme", not "acme"' "$T/t.enc"
tamper header "$T/a.enc" "$T/t.enc" wrapped
refused "header wrapped DEK" "the data key does not unwrap with tenant \"acme\"'s CMK: C_UnwrapKey: CKR_WRAPPED_KEY_INVALID" "$T/t.enc"
tamper header "$T/a.enc" "$T/t.enc" prefix
refused "header nonce prefix" "chunk 0 $AUTH" "$T/t.enc"
tamper header-cut "$T/a.enc" "$T/t.enc"
refused "header cut" "truncated in the header" "$T/t.enc"
tamper header-only "$T/a.enc" "$T/t.enc"
refused "header only" "truncated: the final chunk is missing (the file ends after its header)" "$T/t.enc"
# chunks
tamper chunk "$T/a.enc" "$T/t.enc" 5
refused "chunk byte" "chunk 5 $AUTH" "$T/t.enc"
tamper tag "$T/a.enc" "$T/t.enc" 7
refused "tag byte" "chunk 7 $AUTH" "$T/t.enc"
tamper tag "$T/a.enc" "$T/t.enc" 48
refused "final chunk's tag" "chunk 48 $AUTH" "$T/t.enc"
tamper final-flag "$T/a.enc" "$T/t.enc" 3
refused "final flag set early" "chunk 3: damaged chunk header" "$T/t.enc"
tamper final-flag "$T/a.enc" "$T/t.enc" 48
refused "final flag cleared" "chunk 48: damaged chunk header" "$T/t.enc"
tamper drop-last "$T/a.enc" "$T/t.enc"
refused "last chunk dropped" "truncated: the final chunk is missing (the file ends after chunk 47)" "$T/t.enc"
tamper drop "$T/a.enc" "$T/t.enc" 20
refused "middle chunk dropped" "chunk 20 $AUTH" "$T/t.enc"
tamper swap "$T/a.enc" "$T/t.enc" 10 11
refused "chunks swapped" "chunk 10 $AUTH" "$T/t.enc"
tamper splice "$T/a.enc" "$T/t.enc" 12 "$T/b.enc"
refused "chunk spliced from another file" "chunk 12 $AUTH" "$T/t.enc"
tamper append "$T/a.enc" "$T/t.enc"
refused "data appended" "data after the final chunk" "$T/t.enc"
tamper truncate-mid "$T/a.enc" "$T/t.enc" 30
refused "truncated mid-chunk" "truncated in chunk 30" "$T/t.enc"
# The same on a KEK-path XChaCha20 file: the AAD binds the same way.
expect 0 encrypt "${ACME[@]}" --path kek --cipher xchacha20-poly1305 \
    --chunk 4K "$T/p.200000" "$T/x.enc"
expect 0 encrypt "${ACME[@]}" --path kek --cipher xchacha20-poly1305 \
    --chunk 4K "$T/p.200000" "$T/y.enc"
tamper splice "$T/x.enc" "$T/t.enc" 2 "$T/y.enc"
refused "xchacha: spliced" "chunk 2 $AUTH" "$T/t.enc"
tamper swap "$T/x.enc" "$T/t.enc" 0 1
refused "xchacha: swapped" "chunk 0 $AUTH" "$T/t.enc"
tamper header "$T/x.enc" "$T/t.enc" wrapped
refused "xchacha: wrapped DEK" "the data key does not unwrap with tenant \"acme\"'s CMK: C_UnwrapKey: CKR_WRAPPED_KEY_INVALID" "$T/t.enc"
ls -A "$T" | grep -q 'tmp-' && cmk_fail "temporary file left: $(ls -A "$T")"

echo "== wrong tenant"
expect 1 decrypt "${BETA[@]}" "$T/a.enc" "$W/out"
[ "$(cat "$T/err")" = "cmk-tool: $T/a.enc: encrypted for tenant \"acme\", not \"beta\"" ] ||
    cmk_fail "wrong tenant: $(cat "$T/err")"
for f in a x; do # the label rewritten: beta's CMK (or KEK) refuses the DEK
    tamper set-label "$T/$f.enc" "$T/t.enc" beta
    expect 1 decrypt "${BETA[@]}" "$T/t.enc" "$W/out"
    [ "$(cat "$T/err")" = "cmk-tool: $T/t.enc: the data key does not unwrap with tenant \"beta\"'s CMK: C_UnwrapKey: CKR_WRAPPED_KEY_INVALID" ] ||
        cmk_fail "relabelled for beta: $(cat "$T/err")"
done
[ -z "$(ls -A "$W")" ] || cmk_fail "wrong tenant left $(ls -A "$W")"
echo "ok: wrong tenant refused, before and after relabelling"

echo "== PIN"
expect 2 decrypt --config "$CFG" --tenant acme "$T/a.enc" "$W/out"
grep -qx 'cmk-tool: tenant "acme" needs a PIN: give --pin-file FILE (mode 0600)' "$T/err" ||
    cmk_fail "no PIN: $(cat "$T/err")"
printf '9999\n' >"$T/bad.pin" && chmod 600 "$T/bad.pin"
expect 1 decrypt --config "$CFG" --tenant acme --pin-file "$T/bad.pin" "$T/a.enc" "$W/out"
grep -qx 'cmk-tool: tenant "acme": login failed: CKR_PIN_INCORRECT' "$T/err" ||
    cmk_fail "wrong PIN: $(cat "$T/err")"
chmod 644 "$T/bad.pin"
expect 2 decrypt --config "$CFG" --tenant acme --pin-file "$T/bad.pin" "$T/a.enc" "$W/out"
grep -q "^cmk-tool: --pin-file: $T/bad.pin: " "$T/err" || cmk_fail "0644 PIN file: $(cat "$T/err")"
expect 2 decrypt "${ACME[@]}" --pin 1234 "$T/a.enc" "$W/out"
expect 0 encrypt --config "$CFG" --tenant open "$T/p.65537" "$T/o.enc"
expect 0 decrypt --config "$CFG" --tenant open "$T/o.enc" "$T/o.out"
cmp -s "$T/p.65537" "$T/o.out" || cmk_fail "login_required false round trip"
[ -z "$(ls -A "$W")" ] || cmk_fail "PIN cases left $(ls -A "$W")"
echo "ok: PIN from a 0600 file only; a tenant without login needs none"

echo "== usage"
expect 2 encrypt "${ACME[@]}" --chunk 4095 "$T/p.1" "$W/out"
grep -qx 'cmk-tool encrypt: --chunk: "4095": 4096..16777216 bytes' "$T/err" || cmk_fail "chunk 4095"
expect 2 encrypt "${ACME[@]}" --chunk 17M "$T/p.1" "$W/out"
expect 2 encrypt "${ACME[@]}" --cipher aes-128-gcm "$T/p.1" "$W/out"
expect 2 encrypt "${ACME[@]}" --path cmk "$T/p.1" "$W/out"
expect 2 decrypt "${ACME[@]}" --cipher aes-256-gcm "$T/a.enc" "$W/out"
expect 2 encrypt "${ACME[@]}" "$T/p.1"
expect 2 encrypt --config "$CFG" --tenant nobody "$T/p.1" "$W/out"
expect 1 encrypt "${ACME[@]}" "$T/missing" "$W/out"
expect 0 encrypt --help
grep -q '^usage: cmk-tool encrypt' "$T/out" || cmk_fail "encrypt --help"
expect 0 decrypt --help
expect 0 rekey --help
[ -z "$(ls -A "$W")" ] || cmk_fail "usage errors left $(ls -A "$W")"
echo "ok: usage errors exit 2, a missing IN exits 1"

echo "== rekey"
expect 0 encrypt "${ACME[@]}" --path direct "$T/p.200000" "$T/r.old"
cp "$T/r.old" "$T/r.keep"
expect 0 rekey "${ACME[@]}" "$T/r.old" "$T/r.new"
w1=$(tamper field "$T/r.old" wrapped)
w2=$(tamper field "$T/r.new" wrapped)
[ "$w1" != "$w2" ] || cmk_fail "rekey kept the wrapped DEK"
[ "$(tamper field "$T/r.new" path)" = 1 ] || cmk_fail "rekey changed the path"
cmp -s "$T/r.old" "$T/r.keep" || cmk_fail "rekey changed IN"
expect 0 decrypt "${ACME[@]}" "$T/r.new" "$T/r.out1"
expect 0 decrypt "${ACME[@]}" "$T/r.old" "$T/r.out2"
cmp -s "$T/p.200000" "$T/r.out1" && cmp -s "$T/p.200000" "$T/r.out2" ||
    cmk_fail "rekeyed or old file does not decrypt to the same bytes"
# New path, cipher and chunk size, then in place.
expect 0 rekey "${ACME[@]}" --path kek --cipher xchacha20-poly1305 \
    --chunk 8K "$T/r.new" "$T/r.x"
[ "$(tamper field "$T/r.x" cipher)/$(tamper field "$T/r.x" chunk)" = 2/8192 ] ||
    cmk_fail "rekey options not applied"
"$CMK_PYTHON" "$TAMPER" open "$T/r.x" "$T/acme.kek" "$T/r.py" &&
    cmp -s "$T/p.200000" "$T/r.py" || cmk_fail "rekeyed file, independent reader"
expect 0 rekey "${ACME[@]}" "$T/r.x" "$T/r.x"
[ "$(tamper field "$T/r.x" wrapped)" != "$(tamper field "$T/r.new" wrapped)" ] ||
    cmk_fail "in-place rekey"
expect 0 decrypt "${ACME[@]}" "$T/r.x" "$T/r.out3"
cmp -s "$T/p.200000" "$T/r.out3" || cmk_fail "in-place rekey content"
tamper chunk "$T/r.old" "$T/t.enc" 1
expect 1 rekey "${ACME[@]}" "$T/t.enc" "$W/out"
[ "$(cat "$T/err")" = "cmk-tool: $T/t.enc: chunk 1 $AUTH" ] || cmk_fail "rekey of a tampered file: $(cat "$T/err")"
[ -z "$(ls -A "$W")" ] || cmk_fail "failed rekey left $(ls -A "$W")"
echo "ok: rekey: new wrapped DEK, same bytes, old file still decrypts"

echo "== a signal during a run leaves no temporary file"
mkfifo "$T/fifo" || cmk_error "mkfifo"
"$CMK_TOOL" encrypt "${ACME[@]}" "$T/fifo" "$W/sig.enc" 2>"$T/err" &
pid=$!
exec 3>"$T/fifo"
head -c 300000 /dev/urandom >&3
for _ in $(seq 50); do
    ls "$W" | grep -q 'sig.enc.tmp-' && break
    sleep 0.1
done
ls "$W" | grep -q 'sig.enc.tmp-' || cmk_fail "no temporary file while running"
kill -TERM "$pid"
wait "$pid"
rc=$?
exec 3>&-
[ "$rc" = 143 ] || cmk_fail "SIGTERM: exit $rc"
[ -z "$(ls -A "$W")" ] || cmk_fail "SIGTERM left $(ls -A "$W")"
echo "ok: SIGTERM removes the temporary file"

echo "== revoked key"
expect 0 encrypt "${ACME[@]}" --path kek "$T/p.4097" "$T/k.enc"
mv "$T/acme.key" "$T/acme.key.orig"
# Root reads any file, so the key is revoked by replacing its material.
tool local-key --out "$T/acme.key" >/dev/null || cmk_error "local-key"
refused "revoked key, direct path" "the data key does not unwrap with tenant \"acme\"'s CMK: C_UnwrapKey: CKR_WRAPPED_KEY_INVALID" "$T/a.enc"
refused "revoked key, KEK path" "the data key does not unwrap with tenant \"acme\"'s CMK: C_UnwrapKey: CKR_DEVICE_ERROR" "$T/k.enc"
mv "$T/acme.key.orig" "$T/acme.key"
expect 0 decrypt "${ACME[@]}" "$T/k.enc" "$T/k.out"
cmp -s "$T/p.4097" "$T/k.out" || cmk_fail "after the key came back"
echo "ok: revoked key refused on both paths, works again when restored"

echo "== audit records"
"$CMK_PYTHON" - "$T/audit/audit.jsonl" "$T" <<'PY' || cmk_fail "audit records"
import json, os, sys
recs = [json.loads(l) for l in open(sys.argv[1], "rb").read().split(b"\n")
        if l.strip(b"\0").strip()]
t = sys.argv[2]
ev = [r for r in recs if r["event"].startswith("encryption_")]
assert ev, "no encryption records"
def find(event, op, detail_start):
    for r in ev:
        if r["event"] == event and r["op"] == op and \
                r.get("detail", "").startswith(detail_start):
            return r
    raise AssertionError("no %s %s %s" % (event, op, detail_start))
d = "decrypt %s/r.new -> %s/r.out1 (direct, aes-256-gcm, chunk 65536)" % (t, t)
s = find("encryption_started", "cmk-tool decrypt", d)
c = find("encryption_completed", "cmk-tool decrypt", d)
assert s["tenant"] == "acme" and s["result"] == "ok", s
assert s["count"] == os.path.getsize(t + "/r.new"), s  # IN's size
assert c["result"] == "ok" and c["count"] == 200000 and c["detail"] == d, c
r = find("encryption_completed", "cmk-tool encrypt",
         "encrypt %s/p.65537 -> %s/o.enc (direct, aes-256-gcm" % (t, t))
assert r["tenant"] == "open" and r["count"] == 65537, r
f = find("encryption_completed", "cmk-tool rekey",
         "rekey %s/t.enc -> %s/w/out (direct, aes-256-gcm, chunk 65536): "
         "chunk 1 failed authentication" % (t, t))
assert f["result"] == "failed", f
# the module's own records of the key uses are in the same file
assert any(r.get("op") == "C_UnwrapKey" and r.get("tenant") == "acme"
           for r in recs), "no C_UnwrapKey record"
print("ok: %d encryption records" % len(ev))
PY
expect 0 audit verify --config "$CFG" "$T/audit/audit.jsonl"
echo "ok: the audit file verifies"
echo "PASS"
