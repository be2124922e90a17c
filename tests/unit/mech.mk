# owned by its area
# mech: AES-KW/KWP, encrypt/decrypt operations, mechanism table, HKDF,
# AES modes and GCM on caller-held key schedules.
MECH_VECTORS = \
	tests/fixtures/vectors/README.md \
	tests/fixtures/vectors/LICENSE-Apache-2.0.txt \
	tests/fixtures/vectors/aes-kw/README.md \
	tests/fixtures/vectors/aes-kw/rfc/rfc3394_rfc5649.txt \
	tests/fixtures/vectors/aes-kw/nist-cavp-sp800-38f/NIST-Readme.txt \
	tests/fixtures/vectors/aes-kw/nist-cavp-sp800-38f/KW_AE_256.txt \
	tests/fixtures/vectors/aes-kw/nist-cavp-sp800-38f/KW_AD_256.txt \
	tests/fixtures/vectors/aes-kw/nist-cavp-sp800-38f/KWP_AE_256.txt \
	tests/fixtures/vectors/aes-kw/nist-cavp-sp800-38f/KWP_AD_256.txt \
	tests/fixtures/vectors/aes-kw/wycheproof/aes_kwp_test.json \
	tests/fixtures/vectors/aes-kw/wycheproof/aes_wrap_test.json \
	tests/fixtures/vectors/aes-gcm/README.md \
	tests/fixtures/vectors/aes-gcm/wycheproof/aes_gcm_test.json \
	tests/fixtures/vectors/xchacha20-poly1305/README.md \
	tests/fixtures/vectors/xchacha20-poly1305/wycheproof/xchacha20_poly1305_test.json \
	tests/fixtures/vectors/hkdf/README.md \
	tests/fixtures/vectors/hkdf/rfc5869/rfc-5869-HKDF-SHA256.txt \
	tests/fixtures/vectors/hkdf/rfc5869/rfc-5869-HKDF-SHA1.txt \
	tests/fixtures/vectors/hkdf/wycheproof/hkdf_sha256_test.json
EXTRA_DIST += $(MECH_VECTORS) tests/unit/mech_vec.h

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_aeskw tests/unit/test_op \
	tests/unit/test_mechinfo tests/unit/test_kdf tests/unit/test_aes \
	tests/unit/test_pkey tests/unit/test_pkey_pem \
	tests/unit/test_hash tests/unit/test_seal tests/unit/test_pwhash \
	tests/unit/test_rsa_oaep \
	tests/unit/test_line_mac tests/unit/test_siv
TESTS += tests/unit/test_aeskw tests/unit/test_op tests/unit/test_mechinfo \
	tests/unit/test_pkey tests/unit/test_pkey_pem \
	tests/unit/test_kdf tests/unit/test_aes \
	tests/unit/test_hash tests/unit/test_seal tests/unit/test_pwhash \
	tests/unit/test_rsa_oaep \
	tests/unit/test_line_mac tests/unit/test_siv
tests_unit_test_aeskw_SOURCES = tests/unit/test_aeskw.c tests/unit/mech_vec.h
tests_unit_test_aeskw_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_aeskw_LDADD = $(UNIT_LDADD)
tests_unit_test_op_SOURCES = tests/unit/test_op.c tests/unit/mech_vec.h
tests_unit_test_op_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_op_LDADD = $(UNIT_LDADD)
tests_unit_test_aes_SOURCES = tests/unit/test_aes.c tests/unit/mech_vec.h
tests_unit_test_aes_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_aes_LDADD = $(UNIT_LDADD)
tests_unit_test_pkey_SOURCES = tests/unit/test_pkey.c
tests_unit_test_pkey_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_pkey_LDADD = $(UNIT_LDADD)
tests_unit_test_pkey_pem_SOURCES = tests/unit/test_pkey_pem.c
tests_unit_test_pkey_pem_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_pkey_pem_LDADD = $(UNIT_LDADD)
tests_unit_test_mechinfo_SOURCES = tests/unit/test_mechinfo.c
tests_unit_test_mechinfo_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_mechinfo_LDADD = $(UNIT_LDADD)
tests_unit_test_kdf_SOURCES = tests/unit/test_kdf.c tests/unit/mech_vec.h \
	tests/lib/pool_fx.h
tests_unit_test_kdf_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_kdf_LDADD = $(UNIT_LDADD)
tests_unit_test_hash_SOURCES = tests/unit/test_hash.c
tests_unit_test_hash_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_hash_LDADD = $(UNIT_LDADD)
tests_unit_test_line_mac_SOURCES = tests/unit/test_line_mac.c \
	tests/lib/pool_fx.h
tests_unit_test_line_mac_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_line_mac_LDADD = $(UNIT_LDADD)
tests_unit_test_siv_SOURCES = tests/unit/test_siv.c tests/unit/mech_vec.h
tests_unit_test_siv_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_siv_LDADD = $(UNIT_LDADD)
tests_unit_test_rsa_oaep_SOURCES = tests/unit/test_rsa_oaep.c
tests_unit_test_rsa_oaep_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_rsa_oaep_LDADD = $(UNIT_LDADD)
# Public keys from a KMS and the SHA-2 digests of key pairs (mech/spki.c).
check_PROGRAMS += tests/unit/test_spki
TESTS += tests/unit/test_spki
tests_unit_test_spki_SOURCES = tests/unit/test_spki.c
tests_unit_test_spki_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_spki_LDADD = $(UNIT_LDADD)
tests_unit_test_seal_SOURCES = tests/unit/test_seal.c
tests_unit_test_seal_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_seal_LDADD = $(UNIT_LDADD)
tests_unit_test_pwhash_SOURCES = tests/unit/test_pwhash.c
tests_unit_test_pwhash_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_pwhash_LDADD = $(UNIT_LDADD)
endif
