#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Without cmocka, configure stops with a message naming it and the way
# out, so make check can never pass with the unit tests left out; with
# --disable-unit-tests it goes on, and make check reports the unit tests
# as skipped. cmocka is hidden by a pkg-config that knows every other
# package. Exit 0 pass, 1 fail, 77 skip (an in-tree build: configure
# cannot run out of tree from a configured source tree), 99 hard error.
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
if [ -f "$top/config.status" ]; then
    echo "SKIP: $top is configured in tree; configure cannot run elsewhere"
    exit 77
fi
# Run from make check: the outer make's flags (jobserver, TESTS=...) are
# not for the makes and configures run here.
unset MAKEFLAGS MFLAGS MAKELEVEL
real=$(command -v "${PKG_CONFIG:-pkg-config}") || {
    echo "ERROR: pkg-config not found"
    exit 99
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cmk-configure-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin" "$tmp/plain" "$tmp/disabled" || exit 99
cat >"$tmp/bin/pkg-config" <<PC || exit 99
#!/bin/sh
for a in "\$@"; do
    case \$a in
    cmocka*) exit 1 ;;
    esac
done
exec "$real" "\$@"
PC
chmod +x "$tmp/bin/pkg-config" || exit 99
failed=0

(cd "$tmp/plain" && PKG_CONFIG=$tmp/bin/pkg-config "$top/configure" -q) \
    >"$tmp/plain.out" 2>&1
rc=$?
if [ $rc -eq 0 ]; then
    echo "FAIL: configure without cmocka succeeded"
    failed=1
elif ! grep -q 'cmocka >= 1.1 is required for the unit tests' \
    "$tmp/plain.out" || ! grep -q -- '--disable-unit-tests' "$tmp/plain.out"; then
    echo "FAIL: configure without cmocka: exit $rc without naming cmocka" \
        "and --disable-unit-tests:"
    cat "$tmp/plain.out"
    failed=1
else
    echo "ok: configure without cmocka stops (exit $rc):"
    grep -A2 'error:' "$tmp/plain.out"
fi

(cd "$tmp/disabled" &&
    PKG_CONFIG=$tmp/bin/pkg-config "$top/configure" -q --disable-unit-tests) \
    >"$tmp/disabled.out" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
    echo "FAIL: configure --disable-unit-tests without cmocka: exit $rc"
    cat "$tmp/disabled.out"
    exit 1
fi
tests=$(make -s -C "$tmp/disabled" --no-print-directory \
    --eval 'cmk-print-tests: ; @echo $(TESTS)' cmk-print-tests) || {
    echo "FAIL: make in the --disable-unit-tests build"
    exit 1
}
case " $tests " in
*" tests/unit/test_pkcs11 "*)
    echo "FAIL: --disable-unit-tests still lists the unit tests"
    failed=1
    ;;
*" tests/unit/unit-disabled.sh "*)
    echo "ok: --disable-unit-tests: make check reports the unit tests skipped"
    ;;
*)
    echo "FAIL: --disable-unit-tests: no tests/unit/unit-disabled.sh in TESTS"
    failed=1
    ;;
esac
exit $failed
