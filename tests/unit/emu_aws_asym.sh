#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tests/unit/test_aws_asym (the aws provider's key pairs) under the KMS
# emulator.
exec sh "${top_srcdir:-.}/tests/unit/emu-run.sh" test_aws_asym
