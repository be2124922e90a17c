#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tests/unit/test_vault_asym under the KMS emulator (TLS).
exec sh "${top_srcdir:-.}/tests/unit/emu-run.sh" test_vault_asym
