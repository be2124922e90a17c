#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The include check: no #include in src/ points up a layer. A file may
# include headers of its own folder and of any folder below it, never
# above. LAYERS, top to bottom, is the one place the order is written.
# store (the token-object store) sits below core and needs only mech and
# util. mech sits below net and audit (SigV4's HMAC and the audit chain
# may use it) and above util; include/ holds the public header.
#
# Every #include "..." (and <...> that names a file of src/ or include/)
# is resolved as the compiler does with -Iinclude -Isrc: first beside the
# including file, then include/, then src/. An include that resolves
# nowhere, or a folder missing from LAYERS, is an error too, so the check
# cannot be walked around.
#
# Files make writes into src/ (cknames_gen.c, which lands in the source
# tree in an in-tree build) are not sources: make check names them, as
# paths under TOP, in CMK_GENERATED and they are left out; nothing else is.
#
# Usage: check-layers.sh [TOP], TOP holding src/ and include/ (default:
# the source tree). Exit 0 clean; 1 with one line per bad include
# ("FILE:LINE: upward include FROM -> TO (#include "X")"); 99 on a hard
# error.
LAYERS='tool pkcs11 core store keys providers net audit mech util include'

top=${1:-${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}}
cd "$top" 2>/dev/null || {
    echo "check-layers: no directory $top"
    exit 99
}
set --
for g in ${CMK_GENERATED:-}; do
    set -- "$@" ! -path "$g"
done
files=$(find src -name '*.[ch]' "$@" | LC_ALL=C sort)
if [ -z "$files" ]; then
    echo "check-layers: no sources under $top/src"
    exit 99
fi

# shellcheck disable=SC2086 # file names hold no blanks
awk -v layers="$LAYERS" '
function exists(p,    line, r) {
    r = (getline line < p)
    if (r >= 0)
        close(p)
    return r >= 0
}
# a/./b/../c -> a/c
function normalize(p,    n, i, k, part, out, s) {
    n = split(p, part, "/")
    k = 0
    for (i = 1; i <= n; i++) {
        if (part[i] == "" || part[i] == ".")
            continue
        if (part[i] == ".." && k > 0 && out[k] != "..")
            k--
        else
            out[++k] = part[i]
    }
    s = ""
    for (i = 1; i <= k; i++)
        s = s (i > 1 ? "/" : "") out[i]
    return s
}
function resolve(dir, inc, quoted,    p) {
    if (quoted) {
        p = normalize(dir "/" inc)
        if (exists(p))
            return p
    }
    p = normalize("include/" inc)
    if (exists(p))
        return p
    p = normalize("src/" inc)
    if (exists(p))
        return p
    return ""
}
# src/core/x.h -> core; include/x.h -> include; anything else -> ""
function layer_of(p,    part, n) {
    n = split(p, part, "/")
    if (part[1] == "include" && n == 2)
        return "include"
    if (part[1] == "src" && n == 3)
        return part[2]
    return ""
}
BEGIN {
    n = split(layers, order, " ")
    for (i = 1; i <= n; i++)
        rank[order[i]] = i
    bad = 0
}
FNR == 1 {
    from = layer_of(FILENAME)
    dir = FILENAME
    sub(/\/[^\/]*$/, "", dir)
    if (!(from in rank)) {
        printf "%s: folder \"%s\" is not in the layer order (%s)\n", \
            FILENAME, from, layers
        bad = 1
    }
}
/^[ \t]*#[ \t]*include[ \t]*["<]/ {
    s = $0
    sub(/^[ \t]*#[ \t]*include[ \t]*/, "", s)
    quoted = substr(s, 1, 1) == "\""
    s = substr(s, 2)
    end = index(s, quoted ? "\"" : ">")
    if (end == 0) {
        printf "%s:%d: cannot parse: %s\n", FILENAME, FNR, $0
        bad = 1
        next
    }
    inc = substr(s, 1, end - 1)
    shown = quoted ? "\"" inc "\"" : "<" inc ">"
    target = resolve(dir, inc, quoted)
    if (target == "") {
        if (quoted) {
            printf "%s:%d: cannot resolve #include %s\n", FILENAME, FNR, \
                shown
            bad = 1
        }
        next # a system header
    }
    to = layer_of(target)
    if (!(to in rank)) {
        printf "%s:%d: #include %s is %s, outside the layer order\n", \
            FILENAME, FNR, shown, target
        bad = 1
    } else if ((from in rank) && rank[to] < rank[from]) {
        printf "%s:%d: upward include %s -> %s (#include %s)\n", \
            FILENAME, FNR, from, to, shown
        bad = 1
    }
}
END {
    exit bad
}
' $files
rc=$?
case $rc in
0)
    echo "no upward include in src/ (order: $LAYERS)"
    exit 0
    ;;
1)
    echo "upward or unresolved includes in src/; allowed order, top to" \
        "bottom: $LAYERS"
    exit 1
    ;;
*)
    echo "check-layers: awk failed ($rc)"
    exit 99
    ;;
esac
