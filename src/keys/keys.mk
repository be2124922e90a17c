libcmk_la_SOURCES += \
	src/keys/cmk.h \
	src/keys/cache.h src/keys/cache.c src/keys/cmk.c \
	src/keys/cache_cfg.c src/keys/cache_cfg.h
