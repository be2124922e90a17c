#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# integration: one Vault token source through the module (run by
# test_vault_creds.sh, one fresh process per source in a clean
# environment, with the emulator up and CMK_PKCS11_CONFIG set): a
# direct-path wrap/unwrap round trip, then the emulator's call log must
# show every transit call made with the source's token (its accessor and
# auth method), in the expected namespace, and the one login the source
# makes, or none.
#   vault_creds.py AUTH_METHOD LOGIN_OP|- ACCESSOR|- NAMESPACE|-
# AUTH_METHOD: the token's auth method as the log has it (token, approle,
# kubernetes, cert); LOGIN_OP: the login's op (VAULT.AppRoleLogin ...) or
# "-" for a static token; ACCESSOR: the static token's accessor ("-":
# the login's); NAMESPACE: the namespace of every call ("-": the root).

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import cmkpy  # noqa: E402

cmkpy.preload_asan()
cmkpy.watchdog(60)
from cmkpy import CKM_CMK_ENVELOPE  # noqa: E402

if importlib.util.find_spec("PyKCS11") is None:  # kmsp11 needs it
    cmkpy.missing("PyKCS11 not importable from %s" % sys.executable)
from kmsp11 import ctl, eq, same_key, Tenants  # noqa: E402

LABEL = "creds"
PIN = "2468"
LOGINS = ("VAULT.AppRoleLogin", "VAULT.K8sLogin", "VAULT.CertLogin")


class T:
    p = None


def t_round_trip():
    dek, blob = T.p.wrap(LABEL, CKM_CMK_ENVELOPE)
    same_key(T.p.s[LABEL], dek, T.p.unwrap(LABEL, blob, CKM_CMK_ENVELOPE))


def t_token(method, login_op, accessor, ns):
    log = ctl("calls")["calls"]
    logins = [c for c in log if c["op"] in LOGINS]
    if login_op == "-":
        eq(logins, [], "logins of a static token")
    else:
        eq([(c["op"], c["status"], c["auth_method"], c["namespace"])
            for c in logins], [(login_op, 200, method, ns)], "login")
        accessor = logins[0]["token_accessor"]
    transit = [c for c in log if c["op"] not in LOGINS]
    eq(sorted(set(c["op"] for c in transit)),
       ["VAULT.Decrypt", "VAULT.Encrypt", "VAULT.ReadKey"], "transit calls")
    eq([(c["op"], c["status"], c["token_accessor"], c["auth_method"],
         c["namespace"], c["token_sent"]) for c in transit],
       [(c["op"], 200, accessor, method, ns, "x-vault-token")
        for c in transit], "each transit call with the source's token")
    print("     %d transit calls with the %s token %s in %r%s"
          % (len(transit), method, accessor, ns,
             "" if login_op == "-" else ", after " + login_op))


def main():
    cmkpy.need_module()
    if len(sys.argv) != 5:
        print(__doc__ or "usage: vault_creds.py AUTH_METHOD LOGIN_OP|- "
              "ACCESSOR|- NAMESPACE|-")
        return 99
    method, login_op, accessor, ns = sys.argv[1:]
    ns = "" if ns == "-" else ns
    run = cmkpy.Runner()
    try:
        T.p = Tenants({LABEL: PIN})
        T.p.login([LABEL])
    except Exception:
        import traceback
        traceback.print_exc(file=sys.stdout)
        return 1
    run.run("round_trip", t_round_trip)
    run.run("token", t_token, method, login_op, accessor, ns)
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())
