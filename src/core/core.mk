libcmk_la_SOURCES += \
	src/core/config.h \
	src/core/attrs.h \
	src/core/store.h
