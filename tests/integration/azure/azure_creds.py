#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# integration: one Entra ID credential source through the module (run by
# test_azure_creds.sh, one fresh process per source in a clean
# environment, with the emulator up and CMK_PKCS11_CONFIG set): a
# direct-path wrap/unwrap round trip, then the emulator's call log must
# show the vault's challenge answered once, every vault call made by the
# source's principal and exactly one token fetched from the source's
# endpoint, the way the source fetches it.
#   azure_creds.py PRINCIPAL TOKEN_OP [KEY=VALUE ...]
# KEY=VALUE: members the token call's log entry must have (client_auth,
# identity, jwt_alg, x5t#S256 ...).

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
TOKEN_OPS = ("AZ.Token", "AZ.IMDS", "AZ.AppService")


class T:
    p = None


def t_round_trip():
    dek, blob = T.p.wrap(LABEL, CKM_CMK_ENVELOPE)
    same_key(T.p.s[LABEL], dek, T.p.unwrap(LABEL, blob, CKM_CMK_ENVELOPE))


def token_facts(c):
    """What a token call's log entry says of how the token was asked."""
    hdr = c.get("jwt_header") or {}
    return {"client_auth": c.get("client_auth"),
            "identity": c.get("identity"),
            "jwt_alg": hdr.get("alg"),
            "x5t#S256": str("x5t#S256" in hdr).lower()}


def t_principal(principal, token_op, want):
    log = ctl("calls")["calls"]
    vault = [(c["op"], c["status"], c.get("principal")) for c in log
             if c["op"] not in TOKEN_OPS]
    # The challenge: the first request carries no token (and no body).
    eq(vault[0][:2], ("AZ.GetKey", 401), "the first vault request")
    eq([v for v in vault[1:] if v[2] != principal], [],
       "vault calls by another principal")
    eq(sorted(set(v[0] for v in vault[1:])), ["AZ.GetKey", "AZ.UnwrapKey"],
       "vault calls")
    tokens = [c for c in log if c["op"] in TOKEN_OPS]
    eq([(c["op"], c["status"], c.get("principal")) for c in tokens],
       [(token_op, 200, principal)], "token calls")
    facts = token_facts(tokens[0])
    for k, v in want.items():
        eq(str(facts.get(k)) if facts.get(k) is not None else "None", v,
           "token call " + k)
    print("     vault calls by %s, its token from %s %s"
          % (principal, token_op, want))


def main():
    cmkpy.need_module()
    if len(sys.argv) < 3 or sys.argv[2] not in TOKEN_OPS:
        print("usage: azure_creds.py PRINCIPAL OP [KEY=VALUE...] "
              "(OP one of %s)" % " ".join(TOKEN_OPS))
        return 99
    want = dict(a.split("=", 1) for a in sys.argv[3:])
    run = cmkpy.Runner()
    try:
        T.p = Tenants({LABEL: PIN})
        T.p.login([LABEL])
    except Exception:
        import traceback
        traceback.print_exc(file=sys.stdout)
        return 1
    run.run("round_trip", t_round_trip)
    run.run("principal", t_principal, sys.argv[1], sys.argv[2], want)
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())
