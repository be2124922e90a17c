#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: GnuTLS's p11tool (through p11-kit) sees one token per tenant
# with its label and a unique serial, hides the CMK before login, lists it
# after, and a pkcs11: URI selects exactly the CMK.
set -u
. "$(dirname "$0")/lib.sh"

cmk_need p11tool timeout
cmk_need_module
if cmk_sanitized; then
    # Measured with SoftHSM2 too: with libasan preloaded, p11tool prints its
    # answer and then hangs for ever in libp11-kit's destructor (freelocale
    # waits on glibc's setlocale lock at exit).
    cmk_skip "p11tool cannot run with libasan preloaded (hangs at exit in libp11-kit)"
fi
cmk_tmpdir
cmk_config "$CMK_TMP" acme:1234 beta:5678

p11tool_() {
    cmk_host p11tool --provider "$CMK_MODULE" "$@"
}

echo "== tokens"
out=$(p11tool_ --list-tokens) || cmk_fail "p11tool --list-tokens"
echo "$out"
grep -q '^	Label: acme$' <<<"$out" || cmk_fail "no token labelled acme"
grep -q '^	Label: beta$' <<<"$out" || cmk_fail "no token labelled beta"
grep -q 'URL: pkcs11:.*token=acme$' <<<"$out" || cmk_fail "no URL for acme"
n=$(grep -c '^	Serial: ' <<<"$out")
u=$(grep '^	Serial: ' <<<"$out" | sort -u | wc -l)
[ "$n" = 2 ] && [ "$u" = 2 ] || cmk_fail "serials: $n tokens, $u distinct"

echo "== objects without login: the CMK is private"
# p11tool (GnuTLS 3.7) exits 2 when the token shows no object at all; any
# other failure (the module did not load, say) must not pass for privacy.
out=$(p11tool_ --list-all "pkcs11:token=acme" 2>&1)
rc=$?
echo "$out"
case $rc in
0) ;;
2)
    grep -qx 'No matching objects found' <<<"$out" ||
        cmk_fail "p11tool --list-all without login: exit 2, not for no objects"
    ;;
*) cmk_fail "p11tool --list-all without login: exit $rc" ;;
esac
grep -q acme-cmk <<<"$out" && cmk_fail "CMK listed without login"

echo "== objects after login"
out=$(GNUTLS_PIN=1234 p11tool_ --login --list-all "pkcs11:token=acme") ||
    cmk_fail "p11tool --login --list-all"
echo "$out"
grep -q '^	Label: acme-cmk$' <<<"$out" || cmk_fail "CMK not listed"
grep -q '^	Type: Secret key$' <<<"$out" || cmk_fail "CMK is not a secret key"
grep -q '^	ID: 01$' <<<"$out" || cmk_fail "CMK id is not 01"
grep -q 'URL: pkcs11:.*token=acme;id=%01;object=acme-cmk;type=secret-key' \
    <<<"$out" || cmk_fail "CMK URL not as expected"
grep -A4 'Label: acme-cmk' <<<"$out" | grep -q 'CKA_EXTRACTABLE' &&
    cmk_fail "CMK flagged extractable"
grep -q beta-cmk <<<"$out" && cmk_fail "beta's CMK listed on acme"

echo "== a pkcs11: URI selects exactly the CMK"
uri="pkcs11:token=acme;object=acme-cmk;type=secret-key"
out=$(GNUTLS_PIN=1234 p11tool_ --login --list-all "$uri") ||
    cmk_fail "p11tool $uri"
[ "$(grep -c '^Object ' <<<"$out")" = 1 ] || cmk_fail "$uri: not one object"

echo "== wrong PIN"
# It must fail at the login, not earlier (a module that did not load fails
# too): p11tool says so when the PIN from GNUTLS_PIN was refused.
GNUTLS_PIN=0000 p11tool_ --login --list-all "pkcs11:token=beta" \
    >"$CMK_TMP/out" 2>&1 && cmk_fail "wrong PIN accepted"
cat "$CMK_TMP/out"
grep -qx 'Cannot continue with a wrong password in the environment.' \
    "$CMK_TMP/out" || cmk_fail "p11tool failed, but not at the login"
grep -q beta-cmk "$CMK_TMP/out" && cmk_fail "wrong PIN showed the CMK"

echo "PASS"
exit 0
