#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# KMS emulator support: makes a throwaway CA and a server certificate for the
# emulator's HTTPS listener (EC P-256, valid for 7 days).
#
# Usage: make_ca.sh DIR [SUBJECT_ALT_NAMES]
#   DIR gets ca.pem, ca.key, server.pem, server.key (keys mode 0600).
#   SUBJECT_ALT_NAMES defaults to IP:127.0.0.1,DNS:localhost; pass another
#   list (e.g. DNS:wrong.invalid) to make a certificate for name-check tests.
set -eu

dir=${1:?usage: make_ca.sh DIR [SUBJECT_ALT_NAMES]}
san=${2:-IP:127.0.0.1,DNS:localhost}
umask 077
mkdir -p "$dir"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$dir/ca.key" -out "$dir/ca.pem" -days 7 \
	-subj "/CN=cmk-pkcs11 throwaway test CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$dir/server.key" -out "$dir/server.csr" \
	-subj "/CN=kms-emulator" 2>/dev/null

cat >"$dir/server.ext" <<EXT
subjectAltName=$san
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
EXT

openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" \
	-CAkey "$dir/ca.key" -set_serial "0x$(od -An -tx8 -N8 /dev/urandom |
	tr -d ' \n')" -days 7 -extfile "$dir/server.ext" \
	-out "$dir/server.pem" 2>/dev/null
rm -f "$dir/server.csr" "$dir/server.ext"
chmod 0644 "$dir/ca.pem" "$dir/server.pem"
