#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: the p11-kit module file make builds names the module where
# make install puts it and, twice, the config file the module reads when
# nothing else names one; that is the path the built module looks for
# (its debug log says so when the file is missing).
set -u
. "$(dirname "$0")/lib.sh"

cmk_need pkcs11-tool timeout
cmk_need_module
file=$top_builddir/conf/cmk-pkcs11.module
[ -f "$file" ] || cmk_error "not built: $file"
cat "$file"

grep -q '@' "$file" && cmk_fail "$file: a placeholder was left"
grep -qx 'module: .*/cmk-pkcs11\.so' "$file" || cmk_fail "no module: line"

# Every path to a config.json the file names (the default, and the
# commented x-init-reserved line).
paths=$(grep -o '/[^ ]*config\.json' "$file" | sort -u)
[ "$(grep -c 'config\.json' "$file")" = 2 ] ||
    cmk_fail "the default config is not named twice"
[ "$(printf '%s\n' "$paths" | wc -l)" = 1 ] ||
    cmk_fail "the module file names different config files: $paths"
grep -qx "# x-init-reserved: config=$paths" "$file" ||
    cmk_fail "no commented x-init-reserved line for $paths"
echo "module file: $paths"

[ -e "$paths" ] &&
    cmk_skip "$paths exists on this machine: the module would load it"
out=$(
    unset CMK_PKCS11_CONFIG
    export CMK_PKCS11_DEBUG=1
    cmk_host pkcs11-tool --module "$CMK_MODULE" -L 2>&1
)
rc=$?
echo "$out"
# pkcs11-tool -L exits 1 when there is no slot.
[ $rc -le 1 ] || cmk_fail "pkcs11-tool -L: exit $rc"
grep -qxF "cmk-pkcs11: no configuration at $paths: no slots" <<<"$out" ||
    cmk_fail "the module does not default to $paths"
echo "PASS"
exit 0
