#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: what an application developer gets from make install. The
# build tree is installed into the test's own DESTDIR; the installed
# header compiles alone as C89, C11 and C++; the installed example
# (share/doc/cmk-pkcs11/examples) builds with its own Makefile against the
# installed header and cmk-pkcs11.pc (pkg-config with a sysroot), with
# -Wall -Wextra -Werror; it runs an envelope round trip against the build
# tree's module on a local tenant, whose audit file then has the wrap and
# unwrap records; with a wrong PIN it names C_Login and CKR_PIN_INCORRECT
# and exits 1.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cmk_need make cc g++ pkg-config
cmk_need_module
cmk_tmpdir
T=$CMK_TMP
ROOT=$T/root

step() {
    echo "== $*"
}

step "make install DESTDIR=$ROOT"
# A make of its own, not the make check that runs this test.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
    make -s -C "$top_builddir" install DESTDIR="$ROOT" >"$T/install.log" 2>&1 ||
    {
        cat "$T/install.log" >&2
        cmk_fail "make install DESTDIR=$ROOT"
    }
one() { # one installed file matching a find expression
    local f
    f=$(find "$ROOT" "$@" -print)
    [ -n "$f" ] && [ "$(wc -l <<<"$f")" = 1 ] ||
        cmk_fail "installed files matching $*: '${f}'"
    echo "$f"
}
HDR=$(one -path '*/include/cmk-pkcs11.h')
PC=$(one -path '*/pkgconfig/cmk-pkcs11.pc')
EX=$(one -path '*/doc/cmk-pkcs11/examples' -type d)
MODFILE=$(one -name cmk-pkcs11.module)
for f in envelope.c Makefile; do
    cmp -s "$EX/$f" "$top_srcdir/examples/$f" || cmk_fail "$EX/$f differs"
done
echo "ok: header, pkg-config file and example installed"

step "the installed header compiles alone"
printf '#include <cmk-pkcs11.h>\nunsigned long v = CMK_DEVERR_LOCAL_KEY_FILE_MISSING;\n' \
    >"$T/alone.c"
for std in c89 c99 c11; do
    cc -std=$std -pedantic -Wall -Wextra -Werror -I"$(dirname "$HDR")" \
        -c "$T/alone.c" -o "$T/alone.o" || cmk_fail "header as $std"
done
g++ -x c++ -std=c++11 -pedantic -Wall -Wextra -Werror -I"$(dirname "$HDR")" \
    -c "$T/alone.c" -o "$T/alone.o" || cmk_fail "header as C++"
echo "ok: C89, C99, C11 and C++11"

step "pkg-config, with the DESTDIR as its sysroot"
# A sysroot holds the dependencies too: p11-kit's headers, from the host.
P11INC=$(pkg-config --variable=includedir p11-kit-1)/p11-kit-1
[ -d "$P11INC" ] || cmk_missing "p11-kit's headers ($P11INC) are not installed"
mkdir -p "$ROOT$(dirname "$P11INC")"
[ -e "$ROOT$P11INC" ] || ln -s "$P11INC" "$ROOT$P11INC"
export PKG_CONFIG_PATH=${PC%/*} PKG_CONFIG_SYSROOT_DIR=$ROOT
pc() { pkg-config "$@" cmk-pkcs11 || cmk_fail "pkg-config $* cmk-pkcs11"; }
want=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")
[ "$(pc --modversion)" = "$want" ] || cmk_fail "version $(pc --modversion), expected $want"
case " $(pc --cflags) " in
*" -I${HDR%/*} "*) ;;
*) cmk_fail "cflags $(pc --cflags) do not name ${HDR%/*}" ;;
esac
MP=$(pc --variable=p11_module_path)
[ -f "$MP" ] && [ "$MP" = "$(pc --variable=moduledir)/cmk-pkcs11.so" ] ||
    cmk_fail "p11_module_path $MP: not the installed module"
# the module file names the same module and default config
grep -qxF "module: ${MP#"$ROOT"}" "$MODFILE" || cmk_fail "module file: not $MP"
grep -qxF "# x-init-reserved: config=$(pc --variable=configfile | sed "s|^$ROOT||")" \
    "$MODFILE" || cmk_fail "configfile $(pc --variable=configfile) not the module file's"
echo "ok: version $want, module $MP"

step "the installed example builds with -Wall -Wextra -Werror"
make -C "$EX" CFLAGS="-O2 -Wall -Wextra -Werror" >"$T/build.log" 2>&1 || {
    cat "$T/build.log" >&2
    cmk_fail "make -C $EX"
}
cat "$T/build.log"
[ -x "$EX/envelope" ] || cmk_fail "no $EX/envelope"

step "envelope round trip on a local tenant, against the build's module"
cmk_tenant "$T" acme 1234
cmk_write_config "$T/config.json" "$T/store"
mkdir -m 700 "$T/audit"
"$CMK_PYTHON" - "$T/config.json" "$T/audit/audit.jsonl" <<'PY' ||
import json, sys
c = json.load(open(sys.argv[1]))
c["audit"] = {"file": sys.argv[2]}
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
    cmk_error "cannot add the audit file"
cmk_provision "$T/config.json" acme
export CMK_PKCS11_CONFIG=$T/config.json
rc=0
CMK_PIN=1234 cmk_host "$EX/envelope" -m "$CMK_MODULE" -t acme \
    >"$T/out" 2>"$T/err" || rc=$?
cat "$T/out" "$T/err"
[ "$rc" = 0 ] || cmk_fail "envelope: exit $rc"
[ "$(cat "$T/out")" = "envelope round trip ok" ] || cmk_fail "envelope: output"
[ ! -s "$T/err" ] || cmk_fail "envelope: wrote to stderr"
echo "ok: envelope round trip ok"

step "the audit file has the wrap and the unwrap"
"$CMK_PYTHON" - "$T/audit/audit.jsonl" <<'PY' || cmk_fail "audit records"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], "rb").read().split(b"\n")
        if l.strip(b"\0").strip()]
for op in ("C_WrapKey", "C_UnwrapKey"):
    r = [r for r in recs if r.get("op") == op]
    assert len(r) == 1, (op, r)
    r = r[0]
    assert r["event"] == "mechanism" and r["tenant"] == "acme", r
    assert r["mech"] == "CKM_CMK_ENVELOPE" and r["mech_num"] == 0x84340001, r
    assert r["result"] == "CKR_OK", r
    print("ok: %s %s %s" % (op, r["mech"], r["result"]))
PY
"$CMK_TOOL" audit verify --config "$T/config.json" "$T/audit/audit.jsonl" ||
    cmk_fail "audit verify"

step "a wrong PIN"
rc=0
CMK_PIN=9999 cmk_host "$EX/envelope" -m "$CMK_MODULE" -t acme \
    >"$T/out" 2>"$T/err" || rc=$?
cat "$T/out" "$T/err"
[ "$rc" = 1 ] || cmk_fail "wrong PIN: exit $rc, expected 1"
[ ! -s "$T/out" ] || cmk_fail "wrong PIN: printed on stdout"
[ "$(head -n 1 "$T/err")" = "envelope: C_Login: CKR_PIN_INCORRECT (0x000000A0)" ] ||
    cmk_fail "wrong PIN: stderr"
echo "ok: C_Login CKR_PIN_INCORRECT, exit 1"
echo "PASS: test_example"
