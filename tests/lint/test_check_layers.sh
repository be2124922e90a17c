#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The include check can fail: on a copy of src/ and include/ it passes,
# then each injected bad include (a "dir/x.h" edge up, a relative one up,
# one that resolves nowhere) makes it exit 1 naming file, line and edge.
# Exit 0 pass, 1 fail, 99 hard error.
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
check="$top/tests/lint/check-layers.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cmk-layers-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
cp -R "$top/src" "$top/include" "$tmp/" || exit 99
failed=0

# expect_fail FILE LINE TEXT: appends LINE to FILE in the copy, runs the
# check, wants exit 1 and "FILE:N: TEXT" in its output, restores FILE.
expect_fail()
{
    cp "$tmp/$1" "$tmp/saved" || exit 99
    printf '%s\n' "$2" >>"$tmp/$1"
    n=$(wc -l <"$tmp/$1" | tr -d ' ')
    out=$(sh "$check" "$tmp" 2>&1)
    rc=$?
    if [ "$rc" -ne 1 ]; then
        echo "FAIL: $1 + $2: exit $rc, want 1"
        failed=1
    elif ! printf '%s\n' "$out" | grep -qF "$1:$n: $3"; then
        echo "FAIL: $1 + $2: no \"$1:$n: $3\" in:"
        printf '%s\n' "$out"
        failed=1
    else
        echo "ok: $1:$n: $3"
    fi
    cp "$tmp/saved" "$tmp/$1" || exit 99
}

out=$(sh "$check" "$tmp" 2>&1)
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "FAIL: the untouched copy: exit $rc, want 0"
    printf '%s\n' "$out"
    exit 1
fi
echo "ok: the untouched copy passes"

expect_fail src/util/clock.c '#include "core/settings.h"' \
    'upward include util -> core (#include "core/settings.h")'
expect_fail src/mech/aes.h '#include "pkcs11/entry.h"' \
    'upward include mech -> pkcs11 (#include "pkcs11/entry.h")'
expect_fail src/keys/cache.c '#include "../core/token.h"' \
    'upward include keys -> core (#include "../core/token.h")'
expect_fail src/net/url.c '#include <keys/cmk.h>' \
    'upward include net -> keys (#include <keys/cmk.h>)'
expect_fail src/audit/line.c '#include "nowhere.h"' \
    'cannot resolve #include "nowhere.h"'

# A file make generated (named in CMK_GENERATED) is left out, and only it:
# the same file is checked when it is not named.
gen=src/util/made_gen.c
printf '#include "/nowhere/pkcs11.h"\n' >"$tmp/$gen"
out=$(CMK_GENERATED="${CMK_GENERATED:-} $gen" sh "$check" "$tmp" 2>&1)
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "FAIL: a generated file named in CMK_GENERATED: exit $rc, want 0"
    printf '%s\n' "$out"
    failed=1
else
    echo "ok: a generated file named in CMK_GENERATED is left out"
fi
out=$(sh "$check" "$tmp" 2>&1)
rc=$?
if [ "$rc" -ne 1 ] ||
    ! printf '%s\n' "$out" | grep -qF "$gen:1: cannot resolve"; then
    echo "FAIL: an unnamed generated file: exit $rc, want 1 naming $gen"
    printf '%s\n' "$out"
    failed=1
else
    echo "ok: the same file, not named, is checked"
fi
rm -f "$tmp/$gen"

# Same-folder and downward includes stay allowed.
printf '#include "session.h"\n#include "mech/mech.h"\n' >>"$tmp/src/core/find.c"
out=$(sh "$check" "$tmp" 2>&1)
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "FAIL: same-folder and downward includes: exit $rc, want 0"
    printf '%s\n' "$out"
    failed=1
else
    echo "ok: same-folder and downward includes pass"
fi
exit $failed
