libcmk_la_SOURCES += \
	src/core/config.h src/core/config.c \
	src/core/attrs.h src/core/attrs.c \
	src/core/store.h src/core/store.c \
	src/core/policy.h src/core/policy.c
