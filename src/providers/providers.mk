libcmk_la_SOURCES += \
	src/providers/provider.h src/providers/provider.c \
	src/providers/backends.h \
	src/providers/local.c
