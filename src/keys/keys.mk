libcmk_la_SOURCES += \
	src/keys/cmk.h \
	src/keys/cache.h src/keys/cache.c src/keys/cmk.c
