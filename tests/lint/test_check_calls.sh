#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The call check can fail: its self-test feeds it an upward call and a
# circle and expects exactly those two findings.
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
exec python3 "$top/tests/lint/check-calls.py" --self-test
