#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: GnuTLS's p11tool on key pairs (RSA 2048/3072/4096, EC
# P-256/384/521): --list-all after login, --export-pubkey, --test-sign;
# first on SoftHSM2 (the control), then on our module with the same keys
# as a tenant's "key_pairs".
set -u
. "$(dirname "$0")/asymlib.sh"
. "$ASYM_DIR/steps_p11tool.sh"

cmk_need p11tool openssl timeout
if cmk_sanitized; then
    # As in test_p11tool.sh: with libasan preloaded, p11tool hangs at exit
    # in libp11-kit's destructor (SoftHSM2 too).
    cmk_skip "p11tool cannot run with libasan preloaded (hangs at exit in libp11-kit)"
fi
asym_find_spy
cmk_need_module
cmk_tmpdir
T=$CMK_TMP
asym_setup
ASYM_CERTS=1
asym_on_both steps_p11tool
asym_summary
