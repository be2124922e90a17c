libcmk_la_SOURCES += \
	src/providers/provider.h
