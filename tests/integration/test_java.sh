#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: the module under Java's SunPKCS11 (CmkJava.java, run with
# the JDK's source launcher): login, AES KeyGenerator on the token,
# AES/GCM/NoPadding with a generated DEK and with the CMK, and AES/KW(P)
# wrapping where the JDK offers it (Java 17's SunPKCS11 does not).
# Skips without a JDK; JAVA=/path/to/java picks one, otherwise every JDK
# under /usr/lib/jvm runs too.
set -u
. "$(dirname "$0")/lib.sh"

# The default java, and every other JDK installed under /usr/lib/jvm (a
# newer one offers AES/KW(P) through SunPKCS11).
javas=()
add_java() {
    local j r k
    j=$(command -v "$1" 2>/dev/null) || return 0
    r=$(readlink -f "$j")
    for k in "${javas[@]}"; do
        [ "$(readlink -f "$k")" = "$r" ] && return 0
    done
    "$j" -version >/dev/null 2>&1 && javas+=("$j")
    return 0
}
add_java "${JAVA:-java}"
if [ -z "${JAVA:-}" ]; then
    for j in /usr/lib/jvm/*/bin/java; do
        add_java "$j"
    done
fi
[ ${#javas[@]} -gt 0 ] || cmk_skip "no JDK (java not found)"
cmk_need_module
cmk_tmpdir
cmk_config "$CMK_TMP" acme:1234 beta:5678

cat >"$CMK_TMP/sunpkcs11.cfg" <<EOF
name = cmk
library = $CMK_MODULE
slotListIndex = 0
EOF

for j in "${javas[@]}"; do
    echo "== $j"
    # The source launcher compiles in memory; keep its temp files here.
    out=$(JAVA_TOOL_OPTIONS="-Djava.io.tmpdir=$CMK_TMP" cmk_host "$j" \
        "$(dirname "$0")/CmkJava.java" "$CMK_TMP/sunpkcs11.cfg" 1234 \
        acme-cmk 2>&1)
    rc=$?
    echo "$out"
    [ $rc = 0 ] || cmk_fail "Java checks failed with $j (exit $rc)"
    grep -q '^PASS gcm with a generated key$' <<<"$out" ||
        cmk_fail "GCM check did not run with $j"
done
echo "PASS"
exit 0
