#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tests/unit/test_vauth under the KMS emulator (TLS).
exec sh "${top_srcdir:-.}/tests/unit/emu-run.sh" test_vauth
