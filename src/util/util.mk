libcmk_la_SOURCES += \
	src/util/err.c src/util/err.h \
	src/util/secmem.c src/util/secmem.h \
	src/util/log.c src/util/log.h \
	src/util/lock.c src/util/lock.h \
	src/util/hmap.c src/util/hmap.h \
	src/util/attrs.c src/util/attrs.h \
	src/util/secpool.c src/util/secpool.h \
	src/util/regs.c src/util/regs.h \
	src/util/fdio.c src/util/fdio.h \
	src/util/text.c src/util/text.h \
	src/util/clock.c src/util/clock.h \
	src/util/trust.c src/util/trust.h \
	src/util/conf.c src/util/conf.h \
	src/util/pkcs11_compat.h
