#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tests/unit/test_gcp_asym under the KMS emulator.
exec sh "${top_srcdir:-.}/tests/unit/emu-run.sh" test_gcp_asym
