# SPDX-License-Identifier: Apache-2.0
# The module's requests beside a vendor client's, for the interop tests'
# part (c) (test_gcp_module_interop.sh, test_vault_module_interop.sh):
# the emulator's call logs each copied to TMP/calls-NAME.jsonl, and
# checks that print "ok - ..." / "not ok - ..." and remember a failure.

import json


def load(tmp, name):
    """The call log saved as TMP/calls-NAME.jsonl, one entry a request."""
    with open("%s/calls-%s.jsonl" % (tmp, name)) as f:
        return [json.loads(line) for line in f]


def shape(calls):
    return [(c["op"], c["status"]) for c in calls]


class Checks:
    def __init__(self):
        self.fail = 0

    def __call__(self, ok, what):
        print("%s - %s" % ("ok" if ok else "not ok", what))
        self.fail |= not ok

    def same(self, op, m, c, fields):
        """Each of FIELDS equal in the module's entry M and the client's C."""
        for field in fields:
            self(m.get(field) == c.get(field),
                 "%s %s: module %r, client %r" % (op, field, m.get(field),
                                                   c.get(field)))
