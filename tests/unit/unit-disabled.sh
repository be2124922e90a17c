#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Stands in for the unit tests when configure ran with
# --disable-unit-tests: make check reports them as skipped, with the
# reason, instead of leaving them out without a word. Under CI=true, where
# every prerequisite is installed, it is a hard error.
if [ "${CI:-}" = true ]; then
    echo "ERROR: unit tests not built: configure --disable-unit-tests" \
        "(required when CI=true)"
    exit 99
fi
echo "SKIP: unit tests not built: configure --disable-unit-tests" \
    "(they need cmocka >= 1.1)"
exit 77
