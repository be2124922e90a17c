libcmk_la_SOURCES += \
	src/keys/cmk.h src/keys/cmk.c
