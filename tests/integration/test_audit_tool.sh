#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: "cmk-tool audit verify" and "audit anchor" on format-2 and
# format-3 files whose chain keys are sealed through a local-provider config
# (tests/integration/audit_forge.c): clean files and rotated series, keys
# sealed by another tenant or by no one, anchors and cuts, files the
# module's own writer made (tests/integration/audit_gen.c), format 1,
# and usage. Exit codes: 0 pass, 1 fail, 77 skip (99 under CI=true).
set -u

. "$(dirname "$0")/lib.sh"
FORGE=$top_builddir/tests/integration/audit_forge
GEN=$top_builddir/tests/integration/audit_gen
[ -x "$CMK_TOOL" ] || cmk_missing "cmk-tool not built: $CMK_TOOL"
[ -x "$FORGE" ] || cmk_missing "not built: $FORGE"
[ -x "$GEN" ] || cmk_missing "not built: $GEN"
cmk_tmpdir
T=$CMK_TMP
cmk_config "$T" alpha:1234:test beta:1234:test >/dev/null
CFG=$CMK_PKCS11_CONFIG
unset CMK_PKCS11_CONFIG
F1=$top_srcdir/tests/fixtures/audit/format1.jsonl
fails=0
# The module writes format 3 (16-byte macs) where the CPU has AES-NI and
# PCLMULQDQ, else format 2.
if grep -qw aes /proc/cpuinfo && grep -qw pclmulqdq /proc/cpuinfo; then
    MH=32
else
    MH=64
fi

# expect CODE PATTERN CMD...: the exit code, and a line of stdout+stderr
# matching the extended regex PATTERN.
expect() {
    local want=$1 pat=$2 got
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" -ne "$want" ] || ! cat "$T/out" "$T/err" | grep -Eq -- "$pat"
    then
        echo "FAIL: $*: exit $got (want $want), expected /$pat/ in:"
        cat "$T/out" "$T/err"
        fails=$((fails + 1))
    else
        echo "ok: ${*##*/}: $(head -n 1 "$T/out")"
    fi
}

verify() { "$CMK_TOOL" audit verify --config "$CFG" "$@"; }

echo "== clean files"
"$FORGE" "$CFG" "$T/a.jsonl" --writers 3 --records 40 --chains 3 ||
    cmk_error "audit_forge failed"
expect 0 "^$T/a.jsonl: 126 records, 3 writers, 12 chains, 0 open chains, 0 bad regions: ok\$" \
    verify "$T/a.jsonl"
[ -s "$T/err" ] && { echo "FAIL: stderr not empty (no TTY: no progress)"; fails=$((fails + 1)); }
CMK_PKCS11_CONFIG=$CFG expect 0 ": ok\$" "$CMK_TOOL" audit verify "$T/a.jsonl"

echo "== rotated series, found from the current file"
"$FORGE" "$CFG" "$T/r.jsonl" --writers 2 --records 30 --rotate 10 ||
    cmk_error "audit_forge failed"
[ -f "$T/r.jsonl.2" ] && [ -f "$T/r.jsonl.1" ] || cmk_error "no rotation"
expect 0 "^$T/r.jsonl and the files before it: 70 records, 2 writers, 6 chains, 0 open chains, 0 bad regions: ok\$" \
    verify "$T/r.jsonl"
expect 0 ": ok\$" verify "$T/r.jsonl.2" "$T/r.jsonl.1" "$T/r.jsonl"
# the oldest file gone (keep): the rest still verifies
mv "$T/r.jsonl.2" "$T/old"
expect 0 "note: writer [0-9a-f]{16}: picked up at its rotate_in" \
    verify "$T/r.jsonl"
mv "$T/old" "$T/r.jsonl.2"
# a middle file deleted
mv "$T/r.jsonl.1" "$T/mid"
expect 1 "^$T/r.jsonl.1: missing from the rotated series \(deleted or renamed\)\$" \
    verify "$T/r.jsonl"
grep -Eq "^$T/r.jsonl: line 1 \(byte 0\): writer [0-9a-f]{16}: prev_file_mac is not the mac of its rotate_out in $T/r.jsonl.2: a file is missing between them\$" \
    "$T/out" || { echo "FAIL: no rotate_in finding"; cat "$T/out"; fails=$((fails + 1)); }
mv "$T/mid" "$T/r.jsonl.1"
# a middle file cut short (its rotate_out lost)
head -n -2 "$T/r.jsonl.1" >"$T/cut" && cat "$T/cut" >"$T/r.jsonl.1"
expect 1 "^$T/r.jsonl: line 1 \(byte 0\): writer [0-9a-f]{16}: rotate_in without a rotate_out before it: the previous file is cut or missing\$" \
    verify "$T/r.jsonl"

echo "== keys"
"$FORGE" "$CFG" "$T/beta.jsonl" --tenant beta --records 3 ||
    cmk_error "audit_forge failed"
expect 1 "^$T/beta.jsonl: line 1 \(byte 0\): writer [0-9a-f]{16}: not verifiable: chain key cannot be unsealed: sealed by tenant \"beta\", not by the audit key tenant \"alpha\"\$" \
    verify "$T/beta.jsonl"
expect 0 ": ok\$" verify --key-tenant beta "$T/beta.jsonl"
expect 1 "sealed by tenant \"alpha\", not by the audit key tenant \"beta\"" \
    verify --key-tenant beta "$T/a.jsonl"
"$FORGE" "$CFG" "$T/bogus.jsonl" --bogus --records 3 ||
    cmk_error "audit_forge failed"
expect 1 "^$T/bogus.jsonl: line 1 \(byte 0\): writer [0-9a-f]{16}: not verifiable: chain key cannot be unsealed: the CMK of tenant \"alpha\" refuses it \(bad_ciphertext, InvalidCiphertext\)\$" \
    verify "$T/bogus.jsonl"
# the fabricated writer appended to a good file
cat "$T/a.jsonl" "$T/bogus.jsonl" >"$T/mixed.jsonl"
expect 1 "^$T/mixed.jsonl: line 127 \(byte [0-9]+\): writer [0-9a-f]{16}: not verifiable: chain key cannot be unsealed" \
    verify "$T/mixed.jsonl"
expect 2 "no tenant labelled \"nobody\" to hold the audit key" \
    verify --key-tenant nobody "$T/a.jsonl"
expect 2 "cmk-tool: .*missing\.json" "$CMK_TOOL" audit verify \
    --config "$T/missing.json" "$T/a.jsonl"

echo "== anchor"
"$FORGE" "$CFG" "$T/n.jsonl" --writers 2 --records 20 --no-finalize ||
    cmk_error "audit_forge failed"
"$CMK_TOOL" audit anchor --config "$CFG" "$T/n.jsonl" >"$T/anchor" 2>"$T/err" ||
    { echo "FAIL: audit anchor"; cat "$T/err"; fails=$((fails + 1)); }
grep -Eq '^\{"anchor":2,"time":"[0-9T:.-]{26}Z","chains":\[(\["[0-9a-f]{16}",[0-9]+,[0-9]+,"[0-9a-f]{64}"\],?){6}\]\}$' \
    "$T/anchor" || { echo "FAIL: anchor line"; cat "$T/anchor"; fails=$((fails + 1)); }
grep -q ": ok\$" "$T/err" || { echo "FAIL: anchor summary"; fails=$((fails + 1)); }
expect 0 ": ok\$" verify --anchor "$T/anchor" "$T/n.jsonl"
head -n -1 "$T/n.jsonl" >"$T/n-cut.jsonl"
expect 1 "^$T/n-cut.jsonl: writer [0-9a-f]{16} chain 2: anchored seq 10 missing: the chain ends at seq 9 \(cut before the anchor point\)\$" \
    verify --anchor "$T/anchor" "$T/n-cut.jsonl"
expect 1 ": 1 problem\$" verify --anchor "$T/anchor" "$T/n-cut.jsonl"
expect 1 ": 1 problem\$" "$CMK_TOOL" audit anchor --config "$CFG" "$T/bogus.jsonl"
[ -s "$T/out" ] && { echo "FAIL: anchor printed for a bad file"; fails=$((fails + 1)); }
echo '{"anchor":1}' >"$T/bad-anchor"
expect 2 "not an anchor line" verify --anchor "$T/bad-anchor" "$T/n.jsonl"

echo "== the module's own writer"
"$GEN" "$CFG" "$T/m.jsonl" 5 || cmk_error "audit_gen failed"
# audit_open, the sealing call, 5 records, finalize
expect 0 "^$T/m.jsonl: 8 records, 1 writers, 2 chains, 0 open chains, 0 bad regions: ok\$" \
    verify "$T/m.jsonl"
grep -Eq '^\{"time":"[0-9T:.-]{26}Z","writer":"[0-9a-f]{16}","chain":0,"seq":1,"pid":[0-9]+,"event":"audit_open","tenant":"alpha","provider":"local","sealed_key":"[A-Za-z0-9+/=]{96}","file":1,"mac":"[0-9a-f]{'"$MH"'}"\}$' \
    "$T/m.jsonl" || { echo "FAIL: audit_open record"; fails=$((fails + 1)); }
grep -Eq '"chain":1,"seq":1,"pid":[0-9]+,"event":"kms_call","op":"Encrypt","tenant":"alpha","result":"CKR_OK","provider":"local","request_id":"local-[0-9a-f]{16}","latency_us":[0-9]+,"detail":"audit chain key","mac":"[0-9a-f]{'"$MH"'}"\}$' \
    "$T/m.jsonl" || { echo "FAIL: sealing record"; fails=$((fails + 1)); }
grep -Eq '"chain":1,"seq":4,"pid":[0-9]+,"event":"mechanism","op":"C_UnwrapKey","tenant":"alpha","session":1,"mech":"CKM_AES_KEY_WRAP_KWP","mech_num":8459,"key_label":"alpha-cmk","key_id":"01","result":"CKR_OK","bytes_in":40,"cache":"hit","detail":"record 3","end":"final","object":4,"object_label":"dek \\"x\\"","object_id":"0a0b","object_class":"CKO_SECRET_KEY","object_token":false,"attrs":\["CKA_CLASS","CKA_KEY_TYPE","CKA_SENSITIVE"\],"mac":"[0-9a-f]{'"$MH"'}"\}$' \
    "$T/m.jsonl" || { echo "FAIL: mechanism record"; fails=$((fails + 1)); }
grep -Eq '"chain":0,"seq":2,"pid":[0-9]+,"event":"finalize","chains":\[\[1,6,"[0-9a-f]{'"$MH"'}"\]\],"mac":"[0-9a-f]{'"$MH"'}"\}$' \
    "$T/m.jsonl" || { echo "FAIL: finalize record"; fails=$((fails + 1)); }
# an edit of the module's record is caught by the keyed chain
sed 's/"record 3"/"record 9"/' "$T/m.jsonl" >"$T/m-edit.jsonl"
expect 1 "^$T/m-edit.jsonl: line 5 \(byte [0-9]+\): writer [0-9a-f]{16} chain 1 seq 4: mac does not match" \
    verify "$T/m-edit.jsonl"
# rotated by the writer at 16 KiB: the series verifies from the current file
"$GEN" "$CFG" "$T/mr.jsonl" 200 16384 || cmk_error "audit_gen failed"
[ -f "$T/mr.jsonl.2" ] && [ -f "$T/mr.jsonl.1" ] || cmk_error "no rotation"
expect 0 "^$T/mr.jsonl and the files before it: [0-9]+ records, 1 writers, 2 chains, 0 open chains, 0 bad regions: ok\$" \
    verify "$T/mr.jsonl"

echo "== format 3 (AES-256-GCM-SIV macs), and both formats in one file"
"$FORGE" "$CFG" "$T/f3.jsonl" --format 3 --writers 2 --records 30 --rotate 10 ||
    cmk_error "audit_forge failed"
expect 0 "^$T/f3.jsonl and the files before it: 70 records, 2 writers, 6 chains, 0 open chains, 0 bad regions: ok\$" \
    verify "$T/f3.jsonl"
grep -Eq ',"mac":"[0-9a-f]{32}"}$' "$T/f3.jsonl" ||
    { echo "FAIL: no 32-hex mac in format 3"; fails=$((fails + 1)); }
"$FORGE" "$CFG" "$T/f3a.jsonl" --format 3 --writers 2 --records 20 --no-finalize ||
    cmk_error "audit_forge failed"
"$CMK_TOOL" audit anchor --config "$CFG" "$T/f3a.jsonl" >"$T/anchor3" 2>"$T/err" ||
    { echo "FAIL: audit anchor (format 3)"; cat "$T/err"; fails=$((fails + 1)); }
grep -Eq '^\{"anchor":2,"time":"[0-9T:.-]{26}Z","chains":\[(\["[0-9a-f]{16}",[0-9]+,[0-9]+,"[0-9a-f]{32}"\],?){6}\]\}$' \
    "$T/anchor3" || { echo "FAIL: anchor line (format 3)"; cat "$T/anchor3"; fails=$((fails + 1)); }
head -n -1 "$T/f3a.jsonl" >"$T/f3a-cut.jsonl"
expect 1 "^$T/f3a-cut.jsonl: writer [0-9a-f]{16} chain 2: anchored seq 10 missing: the chain ends at seq 9 \(cut before the anchor point\)\$" \
    verify --anchor "$T/anchor3" "$T/f3a-cut.jsonl"
cat "$T/a.jsonl" "$T/f3a.jsonl" >"$T/both.jsonl"
expect 0 "^$T/both.jsonl: 168 records, 5 writers, 18 chains, 6 open chains, 0 bad regions: ok\$" \
    verify "$T/both.jsonl"
# a record edited in the format-3 part is caught
sed '130s/"C_Encrypt"/"C_Decrypt"/' "$T/both.jsonl" >"$T/both-edit.jsonl"
cmp -s "$T/both.jsonl" "$T/both-edit.jsonl" && cmk_error "edit changed nothing"
expect 1 "^$T/both-edit.jsonl: line 130 \(byte [0-9]+\): writer [0-9a-f]{16} chain [0-9]+ seq [0-9]+: mac does not match" \
    verify "$T/both-edit.jsonl"

echo "== format 1"
expect 1 "^$F1: format 1 \(unkeyed\): not tamper-evident \(4 records\)\$" \
    verify "$F1"
expect 0 "^$F1: note: format 1 \(unkeyed\): not tamper-evident \(4 records\)\$" \
    verify --allow-unkeyed "$F1"
sed '2d' "$F1" >"$T/f1.jsonl"
expect 1 "^$T/f1.jsonl: line 2 \(byte [0-9]+\): seq 3 follows 1 in writer [0-9a-f]{16}: records missing\$" \
    verify --allow-unkeyed "$T/f1.jsonl"

echo "== usage"
expect 2 "cannot read: No such file or directory" verify "$T/none.jsonl"
expect 2 "^usage: cmk-tool audit verify" "$CMK_TOOL" audit
expect 2 "^usage: cmk-tool audit verify" "$CMK_TOOL" audit check "$T/a.jsonl"
expect 2 "^usage: cmk-tool audit verify" "$CMK_TOOL" audit verify
expect 2 "^usage: cmk-tool audit verify" "$CMK_TOOL" audit verify --bogus x
expect 0 "^usage: cmk-tool audit verify" "$CMK_TOOL" audit verify --help
expect 0 "^usage: cmk-tool audit verify" "$CMK_TOOL" audit --help

if command -v script >/dev/null 2>&1; then
    echo "== progress on a terminal"
    script -qec "$CMK_TOOL audit verify --config $CFG $T/a.jsonl" /dev/null \
        >"$T/tty" 2>&1
    grep -q "MiB (100%)" "$T/tty" ||
        { echo "FAIL: no progress line on a TTY"; cat "$T/tty"; fails=$((fails + 1)); }
fi

[ "$fails" -eq 0 ] || exit 1
exit 0
