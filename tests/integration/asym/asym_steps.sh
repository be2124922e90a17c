#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/asym: the client steps of the key-pair tests on any
# PKCS#11 module, e.g. our module on a tenant whose key pairs are in a real
# KMS, or an HSM:
#
#   asym_steps.sh CLIENT MODULE TOKEN PIN LABEL:ID...
#
# CLIENT: openssl (the engine, then TLS with the certificate it made),
# pkcs11-tool, p11tool, java, or all. LABEL:ID names each key pair by its
# CKA_LABEL and CKA_ID (hex); java needs a certificate with the same label
# on the token. ASYM_PUBDIR=DIR: DIR/LABEL.pub are the key pairs' public
# keys (PEM) that the token's must equal. Prints one RESULT line per step
# and exits 0 when every step passed (no gaps are assumed here).
set -u
. "$(dirname "$0")/asymlib.sh"
. "$ASYM_DIR/steps_openssl.sh"
. "$ASYM_DIR/steps_pkcs11_tool.sh"
. "$ASYM_DIR/steps_p11tool.sh"
. "$ASYM_DIR/steps_java.sh"

[ $# -ge 5 ] || cmk_error "usage: asym_steps.sh CLIENT MODULE TOKEN PIN LABEL:ID..."
client=$1
ASYM_MODULE=$2
ASYM_TOKEN=$3
ASYM_PIN=$4
shift 4
ASYM_NAME=${ASYM_NAME:-module}
[ -f "$ASYM_MODULE" ] || cmk_error "no module $ASYM_MODULE"
asym_find_spy
cmk_tmpdir
T=$CMK_TMP
case $client in
openssl)
    steps_openssl "$@"
    steps_tls "$@"
    ;;
pkcs11-tool) steps_pkcs11_tool "$@" ;;
p11tool) steps_p11tool "$@" ;;
java) steps_java "$@" ;;
all)
    steps_openssl "$@"
    steps_tls "$@"
    steps_pkcs11_tool "$@"
    steps_p11tool "$@"
    steps_java "$@"
    ;;
*) cmk_error "unknown client $client" ;;
esac
asym_summary
