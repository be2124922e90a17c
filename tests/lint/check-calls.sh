#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs the call check on the objects of this build (see check-calls.py).
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
exec python3 "$top/tests/lint/check-calls.py"
