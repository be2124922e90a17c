#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The Debian package, end to end (tests/package/README.md): builds
# cmk-pkcs11 and cmk-pkcs11-dev from a copy of the source with
# dpkg-buildpackage, runs lintian on them (no error, no warning), installs
# both with apt-get, checks that p11-kit lists the module, runs the demo's
# pkcs11-tool steps on the installed module and /usr/bin/cmk-tool, renders
# the installed man pages, builds and runs the installed example against
# the installed header and pkg-config file, then purges both packages and
# checks that every path they created is gone.
#
# Needs root (it installs packages). Files an earlier `make install` put
# in the same places (the module, its p11-kit module file, cmk-tool, the
# header, ...) would shadow the package's or hide a missing file: they are
# moved aside first and put back exactly on exit, after a failure too.
#
#   CMK_BUILD_DIR=BUILD tests/package/test_deb.sh   (BUILD: a configured
#       build of this tree; the package is built from its `make distdir`)
#   tests/package/test_deb.sh                       (in a git checkout:
#       from `git archive HEAD`, i.e. the last commit)
#
# DEB_BUILD_OPTIONS goes to dpkg-buildpackage as given (nocheck: without
# the test suite). CMK_KEEP_TMP=1 keeps the scratch directory.
# Exit codes: 0 pass, 1 fail, 77 skip (not root, or a tool missing),
# 99 hard error (CI=true and something missing).
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${CMK_BUILD_DIR:-}

missing() {
    if [ "${CI:-}" = true ]; then
        echo "ERROR: $* (required when CI=true)" >&2
        exit 99
    fi
    echo "SKIP: $*"
    exit 77
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

[ "$(id -u)" = 0 ] || missing "needs root (it installs and purges packages)"
for t in dpkg-buildpackage dh lintian fakeroot apt-get dpkg-deb p11-kit \
    pkcs11-tool man pkg-config make cc; do
    command -v "$t" >/dev/null 2>&1 || missing "$t is not installed"
done
dpkg-query -W -f='${Status}' cmk-pkcs11 cmk-pkcs11-dev 2>/dev/null |
    grep -q 'install ok' &&
    fail "a cmk-pkcs11 package is installed already: purge it first"

MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
MODULE=/usr/lib/$MA/pkcs11/cmk-pkcs11.so
MODFILE=/usr/share/p11-kit/modules/cmk-pkcs11.module
# The files each package must ship (besides its doc files).
EXPECT_MAIN=(
    /usr/bin/cmk-tool "$MODULE" "$MODFILE"
    /usr/share/doc/cmk-pkcs11/README.md.gz
    /usr/share/doc/cmk-pkcs11/README.Debian
    /usr/share/doc/cmk-pkcs11/examples/example.json
    /usr/share/doc/cmk-pkcs11/examples/aws-example.json
    /usr/share/man/man1/cmk-tool.1.gz
    /usr/share/man/man5/cmk-pkcs11.json.5.gz
    /usr/share/man/man8/cmk-pkcs11.8.gz
)
EXPECT_DEV=(
    /usr/include/cmk-pkcs11.h
    "/usr/lib/$MA/pkgconfig/cmk-pkcs11.pc"
    /usr/share/doc/cmk-pkcs11-dev/examples/envelope.c
    /usr/share/doc/cmk-pkcs11-dev/examples/Makefile
)

T=$(mktemp -d "${TMPDIR:-/tmp}/cmk-deb.XXXXXX")
chmod 755 "$T" # apt's _apt user reads the .debs from here
# What the tools leave in TMPDIR (lintian's mldbm-elf-* index files) goes
# with $T.
mkdir -m 700 "$T/tmp"
export TMPDIR=$T/tmp
ASIDE=$T/aside
MOVED=()        # paths moved to $ASIDE, put back by cleanup
INSTALLED=0     # 1 while this script's packages may be installed

cleanup() {
    local rc=$? p keep=${CMK_KEEP_TMP:-0}
    set +e
    if [ "$INSTALLED" = 1 ]; then
        echo "cleanup: purging the packages"
        apt-get purge -y cmk-pkcs11-dev cmk-pkcs11 >/dev/null 2>&1
    fi
    for p in "${MOVED[@]}"; do
        rm -rf "$p"
        mv "$ASIDE$p" "$p" || {
            echo "cleanup: could not put back $p (it is in $ASIDE$p)" >&2
            rc=1
            keep=1
        }
    done
    if [ ${#MOVED[@]} -gt 0 ]; then
        if [ "$(fingerprint "${MOVED[@]}")" = "$(cat "$T/aside.list")" ]; then
            echo "cleanup: put back ${MOVED[*]}"
        else
            echo "cleanup: what was put back differs from what was moved" >&2
            rc=1
            keep=1
        fi
    fi
    if [ "$keep" = 1 ]; then
        echo "kept $T"
    else
        rm -rf "$T"
    fi
    exit $rc
}
trap cleanup EXIT

# Owner, mode, size, time and content of every file under the given paths.
fingerprint() {
    find "$@" -printf '%p %u:%g %m %s %T@ %y\n' | LC_ALL=C sort
    find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum
}

say() {
    printf '\n=== %s [%s]\n' "$*" "$(date +%T)"
}

say "source"
mkdir "$T/build"
if [ -n "$BUILD_DIR" ]; then
    [ -f "$BUILD_DIR/Makefile" ] || fail "no Makefile in CMK_BUILD_DIR=$BUILD_DIR"
    make -s -C "$BUILD_DIR" distdir distdir="$T/build/src" >/dev/null
    echo "make distdir of $BUILD_DIR"
elif git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
    mkdir "$T/build/src"
    # Modes as in a checkout (git archive's default umask 002 would leave
    # the config samples group-writable, which the module and its tests
    # refuse).
    git -C "$SRC" -c tar.umask=0022 archive --format=tar HEAD |
        tar -x -C "$T/build/src"
    echo "git archive $(git -C "$SRC" rev-parse --short HEAD) of $SRC"
else
    fail "not a git checkout: set CMK_BUILD_DIR to a configured build"
fi
[ -f "$T/build/src/debian/control" ] || fail "the source copy has no debian/"

say "dpkg-buildpackage -us -uc -b (DEB_BUILD_OPTIONS='${DEB_BUILD_OPTIONS:-}')"
start=$(date +%s)
(cd "$T/build/src" && dpkg-buildpackage -us -uc -b) \
    >"$T/build.log" 2>&1 || {
    tail -n 80 "$T/build.log"
    fail "dpkg-buildpackage failed"
}
grep -E '^(# (PASS|SKIP|FAIL|XFAIL|XPASS|ERROR|TOTAL):)' "$T/build.log" || true
echo "built in $(($(date +%s) - start)) s"
VER=$(dpkg-parsechangelog -l "$T/build/src/debian/changelog" -S Version)
ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)
DEB_MAIN=$T/build/cmk-pkcs11_${VER}_$ARCH.deb
DEB_DEV=$T/build/cmk-pkcs11-dev_${VER}_$ARCH.deb
CHANGES=$T/build/cmk-pkcs11_${VER}_$ARCH.changes
for f in "$DEB_MAIN" "$DEB_DEV" "$CHANGES"; do
    [ -f "$f" ] || fail "not built: $f"
done

say "lintian --fail-on error,warning"
lintian_rc=0
lintian --fail-on error,warning --info --show-overrides "$CHANGES" \
    >"$T/lintian.log" 2>&1 ||
    lintian_rc=$?
grep -v '^running with root privileges' "$T/lintian.log" || true
[ $lintian_rc = 0 ] || fail "lintian reports errors or warnings (above)"
echo "lintian: no error, no warning"

say "package contents"
# Paths as dpkg -L prints them: "/usr/bin/cmk-tool", "/usr/bin".
contents() {
    dpkg-deb --fsys-tarfile "$1" | tar -t | sed -e 's|^\./|/|' -e 's|/$||' |
        grep -v '^/\?$'
}
contents "$DEB_MAIN" >"$T/main.list"
contents "$DEB_DEV" >"$T/dev.list"
for p in cmk-pkcs11:main cmk-pkcs11-dev:dev; do
    echo "--- ${p%%:*}"
    cat "$T/${p#*:}.list"
done
for f in "${EXPECT_MAIN[@]}"; do
    grep -qxF "$f" "$T/main.list" || fail "cmk-pkcs11 lacks $f"
done
for f in "${EXPECT_DEV[@]}"; do
    grep -qxF "$f" "$T/dev.list" || fail "cmk-pkcs11-dev lacks $f"
done
if grep -E '\.la$|^/etc(/|$)|^/usr/local' "$T/main.list" "$T/dev.list"; then
    fail "a package ships a .la file, a file in /etc or /usr/local (above)"
fi
dpkg-deb --ctrl-tarfile "$DEB_MAIN" | tar -t | grep -q conffiles &&
    fail "cmk-pkcs11 has conffiles"
LC_ALL=C sort -u "$T/main.list" "$T/dev.list" >"$T/all.list"

say "moving aside what an earlier make install put in the package's places"
# The places `make install` uses with the default prefix (and those the
# package uses), plus whatever the given build would install.
aside=(
    "$MODULE" "${MODULE%.so}.la" "$MODFILE"
    /usr/local/bin/cmk-tool /usr/local/include/cmk-pkcs11.h
    /usr/local/lib/pkgconfig/cmk-pkcs11.pc
    /usr/local/lib/"$MA"/pkgconfig/cmk-pkcs11.pc
    /usr/local/share/man/man1/cmk-tool.1
    /usr/local/share/man/man5/cmk-pkcs11.json.5
    /usr/local/share/man/man8/cmk-pkcs11.8
    /usr/local/share/doc/cmk-pkcs11
)
if [ -n "$BUILD_DIR" ]; then
    make -s -C "$BUILD_DIR" install DESTDIR="$T/stage" >/dev/null 2>&1 ||
        fail "make install DESTDIR=... in $BUILD_DIR failed"
    while IFS= read -r f; do
        aside+=("${f#"$T/stage"}")
    done < <(find "$T/stage" \( -type f -o -type l \) | LC_ALL=C sort)
    rm -rf "$T/stage"
fi
mkdir -m 700 "$ASIDE"
# Sorted, a directory comes before what is in it, which moves with it.
for p in $(printf '%s\n' "${aside[@]}" | LC_ALL=C sort -u); do
    [ -e "$p" ] || [ -L "$p" ] || continue
    inside=0
    for m in "${MOVED[@]}"; do
        case $p in "$m"/*) inside=1 ;; esac
    done
    [ $inside = 0 ] || continue
    if owner=$(dpkg -S "$p" 2>/dev/null); then
        fail "$p belongs to a package (${owner%%:*}): not moving it"
    fi
    MOVED+=("$p")
done
if [ ${#MOVED[@]} -gt 0 ]; then
    fingerprint "${MOVED[@]}" >"$T/aside.list"
    for p in "${MOVED[@]}"; do
        mkdir -p "$ASIDE$(dirname "$p")"
        mv "$p" "$ASIDE$p"
        echo "moved aside: $p"
    done
else
    echo "nothing to move aside"
fi
# What exists before the install: directories shared with other packages
# stay after the purge, and nothing of /etc/cmk-pkcs11 may change.
while IFS= read -r p; do
    if [ -e "$p" ]; then echo "$p"; fi
done <"$T/all.list" >"$T/preexisting.list"
etc_before=$(find /etc/cmk-pkcs11 -printf '%p %m %s %T@\n' 2>/dev/null |
    LC_ALL=C sort || true)

say "apt-get install ./$(basename "$DEB_MAIN") ./$(basename "$DEB_DEV")"
INSTALLED=1
(cd "$T/build" && DEBIAN_FRONTEND=noninteractive apt-get install -y \
    "./$(basename "$DEB_MAIN")" "./$(basename "$DEB_DEV")") || fail "apt-get install"
for p in cmk-pkcs11 cmk-pkcs11-dev; do
    [ "$(dpkg-query -W -f='${Status} ${Version}' "$p")" = \
        "install ok installed $VER" ] || fail "$p $VER is not installed"
done
dpkg -L cmk-pkcs11 cmk-pkcs11-dev | grep -vxE '/\.|' | LC_ALL=C sort -u \
    >"$T/installed.list"
diff -u "$T/all.list" "$T/installed.list" ||
    fail "dpkg -L differs from the packages' contents"
for f in "${EXPECT_MAIN[@]}" "${EXPECT_DEV[@]}"; do
    [ -e "$f" ] || fail "$f missing after the install"
done

grep -qxF "module: $MODULE" "$MODFILE" ||
    fail "$MODFILE does not name $MODULE"
grep -qF /etc/cmk-pkcs11/config.json "$MODFILE" ||
    fail "$MODFILE does not name the default config /etc/cmk-pkcs11/config.json"

say "p11-kit list-modules"
mods=$(env -u CMK_PKCS11_CONFIG p11-kit list-modules 2>&1) || {
    echo "$mods"
    fail "p11-kit list-modules"
}
echo "$mods" | grep -A4 '^cmk-pkcs11:'
echo "$mods" | grep -qxF "cmk-pkcs11: $MODULE" ||
    fail "p11-kit list-modules does not show cmk-pkcs11: $MODULE"
echo "$mods" | grep -A3 '^cmk-pkcs11:' |
    grep -qx '    library-manufacturer: cmk-pkcs11' ||
    fail "p11-kit did not load the module (no library-manufacturer line)"

say "the demo on the installed module and /usr/bin/cmk-tool"
[ "$(command -v cmk-tool)" = /usr/bin/cmk-tool ] ||
    fail "cmk-tool on PATH is $(command -v cmk-tool), not /usr/bin/cmk-tool"
demo_rc=0
MODULE=$MODULE CMK_TOOL=/usr/bin/cmk-tool BUILD_DIR=$T/no-build \
    DEMO_OUT=$T/demo timeout -k 10 600 \
    bash "$T/build/src/scripts/demo.sh" >"$T/demo.log" 2>&1 || demo_rc=$?
cat "$T/demo.log"
[ $demo_rc = 0 ] || fail "the demo failed (exit $demo_rc)"
grep -qF 'Demo finished: every step behaved as expected.' "$T/demo.log" ||
    fail "the demo did not reach its end"
grep -qxF "\$ M=$MODULE   # the module" "$T/demo.log" ||
    fail "the demo did not use $MODULE"

say "man pages"
pages=$(grep -E '^/usr/share/man/man[0-9]/[^/]+\.gz$' "$T/all.list" || true)
for page in $pages; do
    err=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 \
        >"$T/page.txt") || fail "man -l $page failed: $err"
    [ -z "$err" ] || fail "man -l $page warns: $err"
    [ -s "$T/page.txt" ] || fail "man -l $page rendered nothing"
    name=$(basename "$page" .gz)
    [ "$(man -w "${name##*.}" "${name%.*}")" = "$page" ] ||
        fail "man -w ${name##*.} ${name%.*} does not find $page"
    echo "renders: $page ($(wc -l <"$T/page.txt") lines)"
done
[ -n "$pages" ] || echo "no man pages in the package"

say "the example program against the installed header and pkg-config file"
exdir=/usr/share/doc/cmk-pkcs11-dev/examples
if [ -f "$exdir/Makefile" ]; then
    [ "$(pkg-config --path cmk-pkcs11)" = \
        "/usr/lib/$MA/pkgconfig/cmk-pkcs11.pc" ] ||
        fail "pkg-config finds $(pkg-config --path cmk-pkcs11)"
    [ "$(pkg-config --variable=includedir cmk-pkcs11)" = /usr/include ] ||
        fail "cmk-pkcs11.pc: includedir is not /usr/include"
    [ "$(pkg-config --variable=p11_module_path cmk-pkcs11)" = "$MODULE" ] ||
        fail "cmk-pkcs11.pc: p11_module_path is not $MODULE"
    [ "$(pkg-config --variable=configfile cmk-pkcs11)" = \
        /etc/cmk-pkcs11/config.json ] ||
        fail "cmk-pkcs11.pc: configfile is not /etc/cmk-pkcs11/config.json"
    cp -r "$exdir" "$T/example"
    make -C "$T/example" || fail "the example does not build"
    out=$(cd "$T/example" && CMK_PKCS11_CONFIG=$T/demo/config.json \
        CMK_PIN=1234 timeout -k 10 120 ./envelope -t acme 2>&1) || {
        echo "$out"
        fail "the example failed"
    }
    echo "$out"
    [ "$out" = "envelope round trip ok" ] || fail "the example's output"
else
    echo "no example program in cmk-pkcs11-dev"
fi

say "apt-get purge -y cmk-pkcs11-dev cmk-pkcs11"
DEBIAN_FRONTEND=noninteractive apt-get purge -y cmk-pkcs11-dev cmk-pkcs11 ||
    fail "apt-get purge"
INSTALLED=0
for p in cmk-pkcs11 cmk-pkcs11-dev; do
    if dpkg -s "$p" >/dev/null 2>&1; then
        dpkg -s "$p" | grep '^Status'
        fail "dpkg -s $p: still known after the purge"
    fi
done
left=0
while IFS= read -r p; do
    if grep -qxF "$p" "$T/preexisting.list"; then
        [ -e "$p" ] || { echo "gone but was there before: $p"; left=1; }
    elif [ -e "$p" ] || [ -L "$p" ]; then
        echo "left after the purge: $p"
        left=1
    fi
done <"$T/installed.list"
[ $left = 0 ] || fail "the purge did not restore the file system (above)"
etc_after=$(find /etc/cmk-pkcs11 -printf '%p %m %s %T@\n' 2>/dev/null |
    LC_ALL=C sort || true)
[ "$etc_before" = "$etc_after" ] || fail "/etc/cmk-pkcs11 changed"
echo "purged: $(wc -l <"$T/installed.list") paths checked," \
    "$(wc -l <"$T/preexisting.list") of them there before and kept"
echo "PASS"
