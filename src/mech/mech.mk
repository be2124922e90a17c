libcmk_la_SOURCES += \
	src/mech/mech.h src/mech/mech_int.h src/mech/mech.c \
	src/mech/aes.h src/mech/aes.c src/mech/aes_ni.h src/mech/aes_ni.c \
	src/mech/aes_ni_int.h src/mech/aes_ni_gcm.c \
	src/mech/siv.h src/mech/siv.c src/mech/aes_ni_siv.c \
	src/mech/aeskw.c src/mech/kdf.c \
	src/mech/dual_kek.h src/mech/dual_kek.c \
	src/mech/op_int.h src/mech/op.c src/mech/keyctx.c \
	src/mech/op_aes.c src/mech/op_gcm.c src/mech/op_chacha.c \
	src/mech/op_kw.c src/mech/op_util.c \
	src/mech/envelope.h src/mech/envelope.c \
	src/mech/hash.h src/mech/hash.c src/mech/seal.h src/mech/seal.c \
	src/mech/pwhash.h src/mech/pwhash.c \
	src/mech/line_mac.h src/mech/line_mac.c \
	src/mech/rsa_oaep.h src/mech/rsa_oaep.c \
	src/mech/rs256.h src/mech/rs256.c \
	src/mech/jose.h src/mech/jose.c \
	src/mech/spki.h src/mech/spki.c \
	src/mech/pkey.h src/mech/pkey.c src/mech/pkey_pem.c \
	src/mech/der.h src/mech/der.c
