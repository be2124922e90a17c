#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# No test, script or make fragment spells out libtool's object directory:
# make check passes the module's path (CMK_MODULE, built from configure's
# ltobjdir) and scripts run by hand read it from the build's libtool
# script, so in-tree and out-of-tree builds both work. Documentation
# (*.md) may show it. Exit 0 clean, 1 with the hits.
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 99
# Sources only: an in-tree build leaves libtool's .lo files beside them.
hits=$(find tests scripts conf .ci Makefile.am -type f \
    \( -name '*.sh' -o -name '*.py' -o -name '*.mk' -o -name '*.am' \
    -o -name '*.in' -o -name '*.[ch]' -o -path '.ci/*' \) \
    ! -path 'tests/fixtures/*' -print0 2>/dev/null |
    xargs -0 grep -nE '[.]libs([^a-zA-Z0-9_]|$)')
if [ -n "$hits" ]; then
    echo "libtool's object directory spelt out (use CMK_MODULE, CMK_OBJDIR" \
        "or the build's libtool script):"
    echo "$hits"
    exit 1
fi
echo "no test or script spells out libtool's object directory"
exit 0
