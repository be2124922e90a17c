libcmk_la_SOURCES += \
	src/mech/mech.h \
	src/mech/envelope.h src/mech/envelope.c
