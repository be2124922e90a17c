libcmk_la_SOURCES += \
	src/keys/cmk.h
