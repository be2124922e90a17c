libcmk_la_SOURCES += \
	src/keys/cmk.h src/keys/cmk_int.h \
	src/keys/reseal.c src/keys/reseal.h \
	src/keys/cache.h src/keys/cache.c src/keys/cmk.c \
	src/keys/cache_cfg.c src/keys/cache_cfg.h \
	src/keys/audit_key.c src/keys/audit_key.h \
	src/keys/audit_seal.c src/keys/audit_seal.h \
	src/keys/audit_unseal.c src/keys/audit_unseal.h
