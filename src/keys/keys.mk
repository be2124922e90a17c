libcmk_la_SOURCES += \
	src/keys/cmk.h src/keys/purpose.h src/keys/purpose.c \
	src/keys/cache.h src/keys/cache.c src/keys/cmk.c \
	src/keys/cmk_int.h src/keys/cmk_reseal.c src/keys/cmk_batch.c src/keys/cmk_health.c \
	src/keys/answer.c \
	src/keys/kek_prev.c src/keys/commitment.c \
	src/keys/cache_cfg.c src/keys/cache_cfg.h \
	src/keys/health.c src/keys/health.h \
	src/keys/health_cfg.c src/keys/health_cfg.h \
	src/keys/audit_key.c src/keys/audit_key.h \
	src/keys/audit_seal.c src/keys/audit_seal.h \
	src/keys/audit_unseal.c src/keys/audit_unseal.h
