#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# KMS emulator tests: drives the emulator with Debian's AWS CLI (a real SigV4
# client) so the emulator cannot drift from the real KMS/STS wire protocol,
# aliases moved by update-alias and asymmetric keys (sign, verify, OAEP)
# included.
#
# Exit 0 pass, 1 fail, 77 skip when aws (AWS_CLI, default /usr/bin/aws from
# Debian's awscli) or python3-cryptography/curl/openssl are missing; 99
# instead of 77 when CI=true.
#
# Word splitting of $(out) is wanted; ok/fail always succeed, so A && ok ||
# fail is an if-then-else here.
# shellcheck disable=SC2015,SC2046,SC2005
set -u

here=$(cd "$(dirname "$0")" && pwd)
EMU_HOME=$here
. "$here/emulator.sh"

AWS_CLI=${AWS_CLI:-/usr/bin/aws}
if [ ! -x "$AWS_CLI" ]; then
	echo "SKIP: $AWS_CLI is missing (apt-get install awscli)"
	exit "$(emu_skip_status)"
fi
emu_require || exit $?

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kms-awscli.XXXXXX") || exit 99
cleanup() {
	emulator_stop
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# An isolated CLI: no profile, cache or ambient credential source.
export HOME="$tmp/home"
mkdir -p "$HOME"
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ROLE_ARN \
	AWS_WEB_IDENTITY_TOKEN_FILE AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
	AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_AUTHORIZATION_TOKEN \
	AWS_EC2_METADATA_SERVICE_ENDPOINT AWS_CA_BUNDLE AWS_ENDPOINT_URL \
	AWS_REGION
: >"$tmp/config"
: >"$tmp/credentials"
export AWS_CONFIG_FILE="$tmp/config" AWS_SHARED_CREDENTIALS_FILE="$tmp/credentials"
export AWS_DEFAULT_REGION=us-east-1 AWS_PAGER='' AWS_EC2_METADATA_DISABLED=true
export AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=3
export AWS_ACCESS_KEY_ID=AKIDCLITEST00000 AWS_SECRET_ACCESS_KEY=cli-secret

n=0
fails=0
ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
fail() {
	n=$((n + 1))
	fails=$((fails + 1))
	echo "not ok $n - $1"
	sed 's/^/#   /' "$tmp/err" 2>/dev/null | head -5
}

URL=
CA=
# cli ARGS...: the CLI against the emulator; rc, $tmp/out, $tmp/err.
cli() {
	if [ -n "$CA" ]; then
		"$AWS_CLI" --endpoint-url "$URL" --ca-bundle "$CA" "$@" \
			>"$tmp/out" 2>"$tmp/err"
	else
		"$AWS_CLI" --endpoint-url "$URL" "$@" >"$tmp/out" 2>"$tmp/err"
	fi
	rc=$?
}
out() { cat "$tmp/out"; }

# expect_value NAME WANT ARGS...: success and the text output, its
# whitespace runs (the CLI's tabs) read as single spaces.
expect_value() {
	_name=$1 _want=$2
	shift 2
	cli "$@" --output text
	# shellcheck disable=SC2046
	if [ $rc -eq 0 ] && [ "$(echo $(out))" = "$_want" ]; then
		ok "$_name"
	else
		fail "$_name: rc $rc, got '$(out)', want '$_want'"
	fi
}

# expect_error NAME CODE ARGS...: the CLI's service-error exit (254) and
# the error type in its message.
expect_error() {
	_name=$1 _code=$2
	shift 2
	cli "$@"
	if [ $rc -eq 254 ] && grep -q "An error occurred ($_code)" "$tmp/err"; then
		ok "$_name"
	else
		fail "$_name: rc $rc, want 254 and $_code"
	fi
}

b64file() { "$EMU_PYTHON" -c 'import base64,sys
sys.stdout.buffer.write(base64.b64decode(sys.stdin.read()))' >"$1"; }

# kms_suite LABEL: every KMS operation the module uses, with the CLI.
kms_suite() {
	l=$1
	cli kms create-key --description "cli $l" \
		--query 'KeyMetadata.[KeyId,KeyState,Arn]' --output text
	set -- $(out)
	if [ $rc -eq 0 ] && [ "${2:-}" = Enabled ] &&
		[ "${3:-}" = "arn:aws:kms:us-east-1:111122223333:key/$1" ]; then
		ok "$l create-key"
	else
		fail "$l create-key: rc $rc, $(out)"
		return
	fi
	kid=$1
	cli kms create-key --query KeyMetadata.KeyId --output text
	kid2=$(out)
	cli kms create-alias --alias-name "alias/cli-$l" --target-key-id "$kid"
	[ $rc -eq 0 ] && ok "$l create-alias" || fail "$l create-alias"
	expect_error "$l create-alias twice" AlreadyExistsException \
		kms create-alias --alias-name "alias/cli-$l" --target-key-id "$kid"
	expect_value "$l describe-key by alias" "$kid Enabled True" \
		kms describe-key --key-id "alias/cli-$l" \
		--query 'KeyMetadata.[KeyId,KeyState,Enabled]'

	head -c 1000 /dev/urandom >"$tmp/pt"
	cli kms encrypt --key-id "alias/cli-$l" --plaintext "fileb://$tmp/pt" \
		--encryption-context tenant=t1,purpose=dek \
		--query CiphertextBlob --output text
	out | b64file "$tmp/ct"
	[ $rc -eq 0 ] && [ -s "$tmp/ct" ] && ok "$l encrypt" || fail "$l encrypt"
	cli kms decrypt --ciphertext-blob "fileb://$tmp/ct" \
		--encryption-context purpose=dek,tenant=t1 \
		--query Plaintext --output text
	out | b64file "$tmp/pt2"
	if [ $rc -eq 0 ] && cmp -s "$tmp/pt" "$tmp/pt2"; then
		ok "$l decrypt (context in another order)"
	else
		fail "$l decrypt"
	fi
	expect_value "$l decrypt with key id" \
		"arn:aws:kms:us-east-1:111122223333:key/$kid" \
		kms decrypt --ciphertext-blob "fileb://$tmp/ct" --key-id "$kid" \
		--encryption-context purpose=dek,tenant=t1 --query KeyId
	expect_error "$l decrypt wrong context" InvalidCiphertextException \
		kms decrypt --ciphertext-blob "fileb://$tmp/ct" \
		--encryption-context purpose=dek,tenant=t2
	expect_error "$l decrypt missing context" InvalidCiphertextException \
		kms decrypt --ciphertext-blob "fileb://$tmp/ct"
	expect_error "$l decrypt other key" IncorrectKeyException \
		kms decrypt --ciphertext-blob "fileb://$tmp/ct" --key-id "$kid2" \
		--encryption-context purpose=dek,tenant=t1

	# Manual rotation: the alias moves to another key; Encrypt through it
	# answers that key's ARN, and the old blob opens with the old ARN only.
	arn=arn:aws:kms:us-east-1:111122223333:key
	expect_value "$l encrypt via alias answers the key ARN" "$arn/$kid" \
		kms encrypt --key-id "alias/cli-$l" --plaintext "fileb://$tmp/pt" \
		--query KeyId
	cli kms update-alias --alias-name "alias/cli-$l" --target-key-id "$kid2"
	[ $rc -eq 0 ] && [ ! -s "$tmp/out" ] && ok "$l update-alias" ||
		fail "$l update-alias: rc $rc"
	expect_value "$l encrypt via the moved alias" "$arn/$kid2" \
		kms encrypt --key-id "alias/cli-$l" --plaintext "fileb://$tmp/pt" \
		--query KeyId
	expect_error "$l decrypt old blob with the moved alias" \
		IncorrectKeyException kms decrypt --ciphertext-blob "fileb://$tmp/ct" \
		--key-id "alias/cli-$l" --encryption-context purpose=dek,tenant=t1
	expect_value "$l decrypt old blob with the old key ARN" "$arn/$kid" \
		kms decrypt --ciphertext-blob "fileb://$tmp/ct" \
		--key-id "$arn/$kid" --encryption-context purpose=dek,tenant=t1 \
		--query KeyId
	expect_error "$l update-alias of an unknown alias" NotFoundException \
		kms update-alias --alias-name alias/cli-none --target-key-id "$kid"
	expect_error "$l update-alias to an alias" ValidationException \
		kms update-alias --alias-name "alias/cli-$l" \
		--target-key-id "alias/cli-$l"
	cli kms update-alias --alias-name "alias/cli-$l" --target-key-id "$kid"
	expect_value "$l update-alias back" "$kid" \
		kms describe-key --key-id "alias/cli-$l" --query KeyMetadata.KeyId

	cli kms generate-data-key --key-id "$kid" --key-spec AES_256 \
		--encryption-context a=b --query '[Plaintext,CiphertextBlob]' \
		--output text
	set -- $(out)
	echo "$1" | b64file "$tmp/dek"
	echo "$2" | b64file "$tmp/dek.ct"
	if [ $rc -eq 0 ] && [ "$(wc -c <"$tmp/dek")" -eq 32 ]; then
		ok "$l generate-data-key AES_256"
	else
		fail "$l generate-data-key"
	fi
	cli kms decrypt --ciphertext-blob "fileb://$tmp/dek.ct" \
		--encryption-context a=b --query Plaintext --output text
	out | b64file "$tmp/dek2"
	cmp -s "$tmp/dek" "$tmp/dek2" && ok "$l data key unwraps" ||
		fail "$l data key unwraps"
	expect_value "$l generate-data-key-without-plaintext" "None" \
		kms generate-data-key-without-plaintext --key-id "$kid" \
		--number-of-bytes 64 --query Plaintext
	expect_error "$l generate-data-key 2000 bytes" ValidationException \
		kms generate-data-key --key-id "$kid" --number-of-bytes 2000

	cli kms re-encrypt --ciphertext-blob "fileb://$tmp/ct" \
		--source-encryption-context purpose=dek,tenant=t1 \
		--destination-key-id "$kid2" \
		--destination-encryption-context x=y \
		--query CiphertextBlob --output text
	out | b64file "$tmp/ct2"
	cli kms decrypt --ciphertext-blob "fileb://$tmp/ct2" \
		--encryption-context x=y --query Plaintext --output text
	out | b64file "$tmp/pt3"
	cmp -s "$tmp/pt" "$tmp/pt3" && ok "$l re-encrypt" || fail "$l re-encrypt"
	# cmk-tool rewrap names the key that sealed as SourceKeyId.
	expect_value "$l re-encrypt with source-key-id" \
		"$arn/$kid $arn/$kid2" \
		kms re-encrypt --ciphertext-blob "fileb://$tmp/ct" \
		--source-key-id "$arn/$kid" \
		--source-encryption-context purpose=dek,tenant=t1 \
		--destination-key-id "$kid2" \
		--destination-encryption-context purpose=dek,tenant=t1 \
		--query '[SourceKeyId,KeyId]'
	expect_error "$l re-encrypt with another source key" \
		IncorrectKeyException \
		kms re-encrypt --ciphertext-blob "fileb://$tmp/ct" \
		--source-key-id "$kid2" \
		--source-encryption-context purpose=dek,tenant=t1 \
		--destination-key-id "$kid2" \
		--destination-encryption-context purpose=dek,tenant=t1

	head -c 4097 /dev/zero >"$tmp/big"
	expect_error "$l encrypt 4097 bytes" ValidationException \
		kms encrypt --key-id "$kid" --plaintext "fileb://$tmp/big"
	expect_error "$l unknown alias" NotFoundException \
		kms encrypt --key-id alias/none --plaintext "fileb://$tmp/pt"

	cli kms disable-key --key-id "$kid"
	[ $rc -eq 0 ] && ok "$l disable-key" || fail "$l disable-key"
	expect_error "$l encrypt with disabled key" DisabledException \
		kms encrypt --key-id "$kid" --plaintext "fileb://$tmp/pt"
	expect_error "$l decrypt with disabled key" DisabledException \
		kms decrypt --ciphertext-blob "fileb://$tmp/ct" \
		--encryption-context purpose=dek,tenant=t1
	cli kms enable-key --key-id "$kid"
	expect_value "$l enable-key" Enabled \
		kms describe-key --key-id "$kid" --query KeyMetadata.KeyState
	expect_value "$l schedule-key-deletion" "PendingDeletion 7" \
		kms schedule-key-deletion --key-id "$kid2" \
		--pending-window-in-days 7 --query '[KeyState,PendingWindowInDays]'
	expect_error "$l decrypt pending deletion" KMSInvalidStateException \
		kms decrypt --ciphertext-blob "fileb://$tmp/ct2" \
		--encryption-context x=y

	AWS_SECRET_ACCESS_KEY=wrong cli kms describe-key --key-id "$kid"
	if [ $rc -eq 254 ] && grep -q "(InvalidSignatureException).*The request signature we calculated does not match" "$tmp/err"; then
		ok "$l bad secret: InvalidSignatureException"
	else
		fail "$l bad secret: rc $rc"
	fi
	AWS_ACCESS_KEY_ID=AKIDNOBODY000000 cli kms describe-key --key-id "$kid"
	if [ $rc -eq 254 ] && grep -q "(UnrecognizedClientException)" "$tmp/err"; then
		ok "$l unknown access key: UnrecognizedClientException"
	else
		fail "$l unknown access key: rc $rc"
	fi
}

# Key material import into a key with Origin EXTERNAL, by the CLI itself:
# create-key --origin EXTERNAL, get-parameters-for-import (the wrap done
# by openssl, RSAES-OAEP with SHA-256 and MGF1-SHA-256),
# import-key-material with and without an expiry, and each refusal.
# params KEY SPEC ALG: the public key and token into $tmp/pub.der and
# $tmp/token.bin; their key ARN in $parn.
params() {
	cli kms get-parameters-for-import --key-id "$1" \
		--wrapping-key-spec "$2" --wrapping-algorithm "$3" --output json
	parn=$("$EMU_PYTHON" - "$tmp/out" "$tmp/pub.der" "$tmp/token.bin" <<'PY'
import base64, json, sys
d = json.load(open(sys.argv[1]))
open(sys.argv[2], "wb").write(base64.b64decode(d["PublicKey"]))
open(sys.argv[3], "wb").write(base64.b64decode(d["ImportToken"]))
print(d["KeyId"])
PY
)
}
# wrap MATERIAL [MD]: RSAES-OAEP to $tmp/pub.der into $tmp/wrapped.bin.
wrap() {
	openssl pkeyutl -encrypt -pubin -keyform DER -inkey "$tmp/pub.der" \
		-in "$1" -out "$tmp/wrapped.bin" -pkeyopt rsa_padding_mode:oaep \
		-pkeyopt "rsa_oaep_md:${2:-sha256}" \
		-pkeyopt "rsa_mgf1_md:${2:-sha256}" 2>"$tmp/err"
}
import_suite() {
	arn=arn:aws:kms:us-east-1:111122223333:key
	cli kms create-key --origin EXTERNAL \
		--query 'KeyMetadata.[KeyId,KeyState,Origin,Enabled]' --output text
	set -- $(out)
	if [ $rc -eq 0 ] && [ "${2:-}" = PendingImport ] &&
		[ "${3:-}" = EXTERNAL ] && [ "${4:-}" = False ]; then
		ok "create-key --origin EXTERNAL: PendingImport"
	else
		fail "create-key --origin EXTERNAL: rc $rc, $(out)"
		return
	fi
	xid=$1
	expect_error "encrypt before any import" KMSInvalidStateException \
		kms encrypt --key-id "$xid" --plaintext "fileb://$tmp/pt"
	params "$xid" RSA_2048 RSAES_OAEP_SHA_256
	if [ $rc -eq 0 ] && [ "$parn" = "$arn/$xid" ] &&
		openssl pkey -pubin -inform DER -in "$tmp/pub.der" -noout \
			-text 2>/dev/null | grep -q 'Public-Key: (2048 bit)'; then
		ok "get-parameters-for-import RSA_2048: key ARN, RSA public key"
	else
		fail "get-parameters-for-import: rc $rc, $(out)"
		return
	fi
	head -c 32 /dev/urandom >"$tmp/material"
	wrap "$tmp/material"
	cli kms import-key-material --key-id "$xid" \
		--encrypted-key-material "fileb://$tmp/wrapped.bin" \
		--import-token "fileb://$tmp/token.bin" \
		--expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE
	[ $rc -eq 0 ] && ok "import-key-material (does not expire)" ||
		fail "import-key-material: rc $rc"
	expect_value "describe-key after the import" \
		"Enabled EXTERNAL KEY_MATERIAL_DOES_NOT_EXPIRE" \
		kms describe-key --key-id "$xid" \
		--query 'KeyMetadata.[KeyState,Origin,ExpirationModel]'
	cli kms encrypt --key-id "$xid" --plaintext "fileb://$tmp/pt" \
		--query CiphertextBlob --output text
	out | b64file "$tmp/xct"
	cli kms decrypt --ciphertext-blob "fileb://$tmp/xct" \
		--query Plaintext --output text
	out | b64file "$tmp/xpt"
	cmp -s "$tmp/pt" "$tmp/xpt" && ok "the imported key encrypts and decrypts" ||
		fail "imported key round trip"
	head -c 32 /dev/urandom >"$tmp/other"
	params "$xid" RSA_4096 RSAES_OAEP_SHA_1
	wrap "$tmp/other" sha1
	expect_error "other material for the same key" \
		IncorrectKeyMaterialException kms import-key-material \
		--key-id "$xid" --encrypted-key-material "fileb://$tmp/wrapped.bin" \
		--import-token "fileb://$tmp/token.bin" \
		--expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE
	wrap "$tmp/material" sha1
	cli kms import-key-material --key-id "$xid" \
		--encrypted-key-material "fileb://$tmp/wrapped.bin" \
		--import-token "fileb://$tmp/token.bin" \
		--valid-to "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"
	[ $rc -eq 0 ] && ok "same material again, RSA_4096, SHA-1, with --valid-to" ||
		fail "re-import with --valid-to: rc $rc"
	expect_value "expiry model after --valid-to" KEY_MATERIAL_EXPIRES \
		kms describe-key --key-id "$xid" --query KeyMetadata.ExpirationModel
	head -c 256 /dev/urandom >"$tmp/junk"
	expect_error "a wrap that does not decrypt" InvalidCiphertextException \
		kms import-key-material --key-id "$xid" \
		--encrypted-key-material "fileb://$tmp/junk" \
		--import-token "fileb://$tmp/token.bin" \
		--expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE
	cli kms create-key --origin EXTERNAL --query KeyMetadata.KeyId \
		--output text
	xid2=$(out)
	expect_error "a token of another key" InvalidImportTokenException \
		kms import-key-material --key-id "$xid2" \
		--encrypted-key-material "fileb://$tmp/wrapped.bin" \
		--import-token "fileb://$tmp/token.bin" \
		--expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE
	emu_ctl import_token_ttl '{"seconds": 0}' >/dev/null
	params "$xid2" RSA_2048 RSAES_OAEP_SHA_256
	emu_ctl import_token_ttl '{"seconds": 86400}' >/dev/null
	wrap "$tmp/material"
	expect_error "an expired import token" ExpiredImportTokenException \
		kms import-key-material --key-id "$xid2" \
		--encrypted-key-material "fileb://$tmp/wrapped.bin" \
		--import-token "fileb://$tmp/token.bin" \
		--expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE
	cli kms create-key --query KeyMetadata.KeyId --output text
	expect_error "get-parameters-for-import, not an EXTERNAL key" \
		UnsupportedOperationException kms get-parameters-for-import \
		--key-id "$(out)" --wrapping-key-spec RSA_2048 \
		--wrapping-algorithm RSAES_OAEP_SHA_256
	params "$xid2" RSA_2048 RSAES_OAEP_SHA_256
	wrap "$tmp/material"
	cli kms schedule-key-deletion --key-id "$xid2" --pending-window-in-days 7
	expect_error "import-key-material, key pending deletion" \
		KMSInvalidStateException kms import-key-material --key-id "$xid2" \
		--encrypted-key-material "fileb://$tmp/wrapped.bin" \
		--import-token "fileb://$tmp/token.bin" \
		--expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE
	expect_error "get-parameters-for-import, key pending deletion" \
		KMSInvalidStateException kms get-parameters-for-import \
		--key-id "$xid2" --wrapping-key-spec RSA_2048 \
		--wrapping-algorithm RSAES_OAEP_SHA_256
}

# cli_has OP: the CLI knows "aws kms OP" (Debian's 2.9 predates
# rotate-key-on-demand and list-key-rotations).
cli_has() { "$AWS_CLI" kms "$1" help >/dev/null 2>&1; }

# Rotation of a key's material: automatic rotation switched on and off,
# on-demand rotation (through the CLI when it has the operation, else the
# control API), and blobs from before the rotation still decrypting.
rotation_suite() {
	cli kms create-key --query KeyMetadata.Arn --output text
	rarn=$(out)
	expect_value "get-key-rotation-status (off)" False \
		kms get-key-rotation-status --key-id "$rarn" \
		--query KeyRotationEnabled
	cli kms enable-key-rotation --key-id "$rarn"
	[ $rc -eq 0 ] && [ ! -s "$tmp/out" ] && ok "enable-key-rotation" ||
		fail "enable-key-rotation: rc $rc"
	expect_value "get-key-rotation-status (on)" True \
		kms get-key-rotation-status --key-id "$rarn" \
		--query KeyRotationEnabled
	cli kms disable-key-rotation --key-id "$rarn"
	[ $rc -eq 0 ] && ok "disable-key-rotation" ||
		fail "disable-key-rotation: rc $rc"
	expect_value "get-key-rotation-status (off again)" False \
		kms get-key-rotation-status --key-id "$rarn" \
		--query KeyRotationEnabled
	cli kms encrypt --key-id "$rarn" --plaintext "fileb://$tmp/pt" \
		--encryption-context t=rot --query CiphertextBlob --output text
	out | b64file "$tmp/rot-before"
	if cli_has rotate-key-on-demand; then
		expect_value "rotate-key-on-demand" "$rarn" \
			kms rotate-key-on-demand --key-id "$rarn" --query KeyId
	else
		emu_ctl rotate_key "{\"key_id\": \"$rarn\"}" >/dev/null &&
			ok "rotate_key (control API) # skip rotate-key-on-demand: not in $("$AWS_CLI" --version 2>&1 | cut -d' ' -f1)" ||
			fail "rotate_key"
	fi
	if cli_has list-key-rotations; then
		expect_value "list-key-rotations" "ON_DEMAND" \
			kms list-key-rotations --key-id "$rarn" \
			--query 'Rotations[].RotationType'
	else
		ok "list-key-rotations # skip: not in this CLI"
	fi
	cli kms decrypt --ciphertext-blob "fileb://$tmp/rot-before" \
		--encryption-context t=rot --query Plaintext --output text
	out | b64file "$tmp/rot-pt"
	[ $rc -eq 0 ] && cmp -s "$tmp/pt" "$tmp/rot-pt" &&
		ok "a blob from before the rotation decrypts" ||
		fail "old blob after rotation: rc $rc"
	cli kms encrypt --key-id "$rarn" --plaintext "fileb://$tmp/pt" \
		--encryption-context t=rot --query CiphertextBlob --output text
	out | b64file "$tmp/rot-after"
	cli kms decrypt --ciphertext-blob "fileb://$tmp/rot-after" \
		--encryption-context t=rot --query Plaintext --output text
	out | b64file "$tmp/rot-pt"
	[ $rc -eq 0 ] && cmp -s "$tmp/pt" "$tmp/rot-pt" &&
		ok "a blob of the new material decrypts" ||
		fail "new blob after rotation: rc $rc"
	cli kms disable-key --key-id "$rarn"
	if cli_has rotate-key-on-demand; then
		expect_error "rotate-key-on-demand of a disabled key" \
			DisabledException kms rotate-key-on-demand --key-id "$rarn"
	fi
	expect_error "enable-key-rotation of a disabled key" \
		DisabledException kms enable-key-rotation --key-id "$rarn"
}

# The CLI's retries against injected faults, counted in the call log.
fault_suite() {
	cli kms create-key --query KeyMetadata.KeyId --output text
	fkid=$(out)
	emu_ctl reset_calls >/dev/null
	emu_ctl faults '{"throttle_rate": 1, "count": 2, "for_ops": ["Encrypt"]}' >/dev/null
	cli kms encrypt --key-id "$fkid" --plaintext "fileb://$tmp/pt"
	if [ $rc -eq 0 ] && [ "$(emu_count Encrypt)" -eq 3 ]; then
		ok "throttled twice, third attempt succeeds (3 calls logged)"
	else
		fail "throttle retry: rc $rc, $(emu_count Encrypt) calls"
	fi
	emu_ctl reset_calls >/dev/null
	emu_ctl faults '{"error_5xx_rate": 1, "count": 3, "for_ops": ["Encrypt"]}' >/dev/null
	expect_error "3 x 500 exhausts the attempts" KMSInternalException \
		kms encrypt --key-id "$fkid" --plaintext "fileb://$tmp/pt"
	[ "$(emu_count Encrypt)" -eq 3 ] && ok "3 attempts logged" ||
		fail "5xx attempts: $(emu_count Encrypt)"
	emu_ctl reset_calls >/dev/null
	emu_ctl faults '{"reset_rate": 1, "count": 1}' >/dev/null
	cli kms encrypt --key-id "$fkid" --plaintext "fileb://$tmp/pt"
	if [ $rc -eq 0 ] && [ "$(emu_count Encrypt)" -eq 2 ]; then
		ok "connection reset is retried"
	else
		fail "reset retry: rc $rc, $(emu_count Encrypt) calls"
	fi
	emu_ctl clear_faults >/dev/null
	emu_ctl clock_offset '{"seconds": 600}' >/dev/null
	cli kms describe-key --key-id "$fkid"
	if [ $rc -eq 254 ] && grep -q "(InvalidSignatureException).*Signature expired: [0-9T]*Z is now earlier than [0-9T]*Z ([0-9T]*Z - 5 min.)" "$tmp/err"; then
		ok "skewed client clock: Signature expired"
	else
		fail "clock skew: rc $rc"
	fi
	emu_ctl clock_offset '{"seconds": 0}' >/dev/null
	emu_ctl create_key '{"alias": "alias/cli-private", "allow": ["someone-else"]}' >/dev/null
	expect_error "policy refuses the caller" AccessDeniedException \
		kms encrypt --key-id alias/cli-private --plaintext "fileb://$tmp/pt"
}

# Temporary credentials from the emulator's STS, container and IMDS
# endpoints, fetched and used by the CLI itself.
credential_suite() {
	emu_ctl create_key '{"alias": "alias/cli-role", "allow": ["cli-role", "emu-container-role", "emu-instance-role"]}' >/dev/null
	cli sts assume-role-with-web-identity \
		--role-arn arn:aws:iam::111122223333:role/cli-role \
		--role-session-name cli --web-identity-token token-from-file \
		--query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' \
		--output text
	set -- $(out)
	if [ $rc -eq 0 ] && [ $# -eq 3 ]; then
		ok "sts assume-role-with-web-identity"
	else
		fail "sts assume-role-with-web-identity: rc $rc"
		return
	fi
	AWS_ACCESS_KEY_ID=$1 AWS_SECRET_ACCESS_KEY=$2 AWS_SESSION_TOKEN=$3 \
		cli kms encrypt --key-id alias/cli-role --plaintext "fileb://$tmp/pt"
	[ $rc -eq 0 ] && ok "web-identity credentials with session token" ||
		fail "web-identity credentials: rc $rc"
	AWS_ACCESS_KEY_ID=$1 AWS_SECRET_ACCESS_KEY=$2 \
		cli kms encrypt --key-id alias/cli-role --plaintext "fileb://$tmp/pt"
	[ $rc -eq 254 ] && grep -q "(UnrecognizedClientException)" "$tmp/err" &&
		ok "session token missing: UnrecognizedClientException" ||
		fail "session token missing: rc $rc"
	expect_error "AccessDenied for a role not in the policy" \
		AccessDeniedException kms encrypt --key-id alias/cli-private \
		--plaintext "fileb://$tmp/pt"
	expect_value "sts get-caller-identity (signed query protocol)" \
		111122223333 sts get-caller-identity --query Account

	emu_ctl container '{"token": "container-auth-token"}' >/dev/null
	emu_ctl reset_calls >/dev/null
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
		AWS_CONTAINER_CREDENTIALS_FULL_URI="$EMU_HTTP_URL/container/creds" \
		AWS_CONTAINER_AUTHORIZATION_TOKEN=container-auth-token \
		"$AWS_CLI" --endpoint-url "$URL" --ca-bundle "$CA" kms encrypt \
		--key-id alias/cli-role --plaintext "fileb://$tmp/pt" \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -eq 0 ] && [ "$(emu_count ContainerCredentials)" -ge 1 ]; then
		ok "container credentials endpoint (FULL_URI + token)"
	else
		fail "container credentials: rc $rc"
	fi
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
		AWS_CONTAINER_CREDENTIALS_FULL_URI="$EMU_HTTP_URL/container/creds" \
		AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong \
		"$AWS_CLI" --endpoint-url "$URL" --ca-bundle "$CA" kms encrypt \
		--key-id alias/cli-role --plaintext "fileb://$tmp/pt" \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -ne 0 ] && ok "container endpoint refuses a wrong token" ||
		fail "container wrong token accepted"

	emu_ctl reset_calls >/dev/null
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
		AWS_EC2_METADATA_DISABLED=false \
		AWS_EC2_METADATA_SERVICE_ENDPOINT="$EMU_HTTP_URL/" \
		"$AWS_CLI" --endpoint-url "$URL" --ca-bundle "$CA" kms encrypt \
		--key-id alias/cli-role --plaintext "fileb://$tmp/pt" \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -eq 0 ] && [ "$(emu_count IMDS.Token)" -ge 1 ] &&
		[ "$(emu_count IMDS.Credentials)" -ge 1 ]; then
		ok "IMDSv2 credentials (token, role, credentials)"
	else
		fail "IMDSv2 credentials: rc $rc"
	fi
}

# Asymmetric keys, by the CLI itself: create-key --key-spec/--key-usage,
# get-public-key, sign (RAW and DIGEST) and verify, each signature checked
# by openssl against the public key; RSAES-OAEP decrypt of ciphertexts made
# by openssl pkeyutl, and encrypt's ciphertexts decrypted by openssl with
# the private key from the emulator's state file.
# asym_key SPEC USAGE: a new key's ARN in $akey, its public key in
# $tmp/pub.pem.
asym_key() {
	cli kms create-key --key-spec "$1" --key-usage "$2" \
		--query KeyMetadata.Arn --output text
	akey=$(out)
	cli kms get-public-key --key-id "$akey" --query PublicKey --output text
	out | b64file "$tmp/pub.der"
	openssl pkey -pubin -inform DER -in "$tmp/pub.der" \
		-out "$tmp/pub.pem" 2>"$tmp/err"
}
# priv_pem ARN: the emulator's private key of ARN into $tmp/priv.pem.
priv_pem() {
	"$EMU_PYTHON" - "$EMU_DIR/state.json" "$1" "$tmp/priv.pem" <<'PY'
import json, sys
keys = json.load(open(sys.argv[1]))["keys"]
open(sys.argv[3], "w").write(keys[sys.argv[2].rsplit("/", 1)[1]]["private_pem"])
PY
}
# sig_check NAME ALG MD [PSS]: the signature in $tmp/sig.b64 over
# $tmp/msg verified by openssl with $tmp/pub.pem.
sig_check() {
	b64file "$tmp/sig.bin" <"$tmp/sig.b64"
	if [ -n "${4:-}" ]; then
		set -- "$1" "$2" "$3" -sigopt rsa_padding_mode:pss \
			-sigopt rsa_pss_saltlen:digest -sigopt "rsa_mgf1_md:$3"
	else
		set -- "$1" "$2" "$3"
	fi
	_n=$1 _md=$3
	shift 3
	if openssl dgst "-$_md" -verify "$tmp/pub.pem" "$@" \
		-signature "$tmp/sig.bin" "$tmp/msg" >"$tmp/err" 2>&1; then
		ok "$_n: openssl verifies"
	else
		fail "$_n: openssl refuses the signature"
	fi
}
asym_sign() {
	spec=$1 md=$2
	shift 2
	asym_key "$spec" SIGN_VERIFY
	[ $rc -eq 0 ] && [ -s "$tmp/pub.pem" ] && ok "$spec get-public-key" ||
		fail "$spec get-public-key: rc $rc"
	expect_value "$spec get-public-key KeySpec, KeyUsage" \
		"$spec SIGN_VERIFY" kms get-public-key --key-id "$akey" \
		--query '[KeySpec,KeyUsage]'
	openssl dgst "-$md" -binary "$tmp/msg" >"$tmp/digest"
	for alg in "$@"; do
		md=sha$(echo "$alg" | sed 's/.*_//')
		openssl dgst "-$md" -binary "$tmp/msg" >"$tmp/digest"
		pss=
		case $alg in RSASSA_PSS_*) pss=1 ;; esac
		for mt in RAW DIGEST; do
			m=$tmp/msg
			[ $mt = DIGEST ] && m=$tmp/digest
			cli kms sign --key-id "$akey" --message "fileb://$m" \
				--message-type $mt --signing-algorithm "$alg" \
				--query Signature --output text
			out >"$tmp/sig.b64"
			if [ $rc -ne 0 ]; then
				fail "$spec sign $alg $mt: rc $rc"
				continue
			fi
			sig_check "$spec sign $alg $mt" "$alg" "$md" $pss
			b64file "$tmp/sig.bin" <"$tmp/sig.b64"
			expect_value "$spec verify $alg $mt" True kms verify \
				--key-id "$akey" --message "fileb://$m" \
				--message-type $mt --signing-algorithm "$alg" \
				--signature "fileb://$tmp/sig.bin" \
				--query SignatureValid
		done
	done
}
asym_oaep() {
	asym_key RSA_3072 ENCRYPT_DECRYPT
	expect_value "RSA_3072 get-public-key EncryptionAlgorithms" \
		"RSAES_OAEP_SHA_1 RSAES_OAEP_SHA_256" kms get-public-key \
		--key-id "$akey" --query EncryptionAlgorithms
	priv_pem "$akey"
	head -c 190 /dev/urandom >"$tmp/pt"
	for md in sha1 sha256; do
		alg=RSAES_OAEP_SHA_$(echo $md | sed 's/sha//')
		openssl pkeyutl -encrypt -pubin -inkey "$tmp/pub.pem" \
			-in "$tmp/pt" -out "$tmp/ct" \
			-pkeyopt rsa_padding_mode:oaep -pkeyopt "rsa_oaep_md:$md" \
			-pkeyopt "rsa_mgf1_md:$md" 2>"$tmp/err"
		cli kms decrypt --key-id "$akey" --ciphertext-blob "fileb://$tmp/ct" \
			--encryption-algorithm "$alg" --query Plaintext --output text
		out | b64file "$tmp/got"
		[ $rc -eq 0 ] && cmp -s "$tmp/pt" "$tmp/got" &&
			ok "decrypt $alg of an openssl pkeyutl ciphertext" ||
			fail "decrypt $alg: rc $rc"
		cli kms encrypt --key-id "$akey" --plaintext "fileb://$tmp/pt" \
			--encryption-algorithm "$alg" --query CiphertextBlob \
			--output text
		out | b64file "$tmp/ct"
		openssl pkeyutl -decrypt -inkey "$tmp/priv.pem" -in "$tmp/ct" \
			-out "$tmp/got" -pkeyopt rsa_padding_mode:oaep \
			-pkeyopt "rsa_oaep_md:$md" -pkeyopt "rsa_mgf1_md:$md" \
			2>"$tmp/err"
		[ $? -eq 0 ] && cmp -s "$tmp/pt" "$tmp/got" &&
			ok "encrypt $alg: openssl pkeyutl decrypts it" ||
			fail "encrypt $alg: openssl cannot decrypt it"
	done
	expect_error "decrypt without --encryption-algorithm" \
		InvalidKeyUsageException kms decrypt --key-id "$akey" \
		--ciphertext-blob "fileb://$tmp/ct"
	expect_error "sign with an ENCRYPT_DECRYPT key" \
		InvalidKeyUsageException kms sign --key-id "$akey" \
		--message "fileb://$tmp/msg" --signing-algorithm RSASSA_PSS_SHA_256
	printf 'x%.0s' $(seq 300) >"$tmp/ct"
	expect_error "decrypt of a bad ciphertext" InvalidCiphertextException \
		kms decrypt --key-id "$akey" --ciphertext-blob "fileb://$tmp/ct" \
		--encryption-algorithm RSAES_OAEP_SHA_256
}
asym_suite() {
	printf 'a message for the KMS to sign\n' >"$tmp/msg"
	asym_sign RSA_2048 sha256 RSASSA_PKCS1_V1_5_SHA_256 \
		RSASSA_PKCS1_V1_5_SHA_384 RSASSA_PKCS1_V1_5_SHA_512 \
		RSASSA_PSS_SHA_256 RSASSA_PSS_SHA_384 RSASSA_PSS_SHA_512
	asym_sign ECC_NIST_P256 sha256 ECDSA_SHA_256
	asym_sign ECC_NIST_P384 sha384 ECDSA_SHA_384
	asym_sign ECC_NIST_P521 sha512 ECDSA_SHA_512
	asym_sign ECC_SECG_P256K1 sha256 ECDSA_SHA_256
	expect_error "sign ECDSA_SHA_384 with a P-256 key" \
		InvalidKeyUsageException kms sign --key-id "$akey" \
		--message "fileb://$tmp/msg" --signing-algorithm ECDSA_SHA_384
	head -c 31 /dev/urandom >"$tmp/digest"
	expect_error "sign a DIGEST of the wrong length" ValidationException \
		kms sign --key-id "$akey" --message "fileb://$tmp/digest" \
		--message-type DIGEST --signing-algorithm ECDSA_SHA_256
	expect_error "create-key ECC_NIST_P256 ENCRYPT_DECRYPT" \
		ValidationException kms create-key --key-spec ECC_NIST_P256 \
		--key-usage ENCRYPT_DECRYPT
	cli kms create-key --query KeyMetadata.Arn --output text
	expect_error "get-public-key of a symmetric key" \
		UnsupportedOperationException kms get-public-key --key-id "$(out)"
	asym_oaep
}

emulator_start "$tmp/emu" --tls || exit 99
emu_ctl add_credentials \
	"{\"access_key_id\": \"$AWS_ACCESS_KEY_ID\", \"secret\": \"$AWS_SECRET_ACCESS_KEY\"}" \
	>/dev/null || exit 99

URL=$EMU_HTTP_URL CA=
kms_suite http
rotation_suite
import_suite
asym_suite
fault_suite
URL=$EMU_HTTPS_URL CA=$EMU_CA
kms_suite https
"$AWS_CLI" --endpoint-url "$URL" kms describe-key --key-id alias/cli-https \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -ne 0 ] && grep -qi "certificate verify failed" "$tmp/err" &&
	ok "https without --ca-bundle: certificate refused" ||
	fail "https without the CA: rc $rc"
credential_suite

echo "# $fails of $n failed ($("$AWS_CLI" --version 2>&1))"
[ $fails -eq 0 ]
