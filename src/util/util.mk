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
	src/util/utc.c src/util/utc.h \
	src/util/trust.c src/util/trust.h \
	src/util/conf.c src/util/conf.h \
	src/util/crc32c.c src/util/crc32c.h \
	src/util/ordcopy.c src/util/ordcopy.h \
	src/util/bgthread.c src/util/bgthread.h \
	src/util/pkcs11_compat.h

# CKR_, CKA_ and CKO_ names, generated from the headers the module is
# built with (scripts/cknames.sh). The list is the one place to change
# when a header moves; test_cknames reads the same headers.
CKNAMES_FROM = $(P11KIT_PKCS11_H) \
	$(abs_top_srcdir)/src/util/pkcs11_compat.h \
	$(abs_top_srcdir)/include/cmk-pkcs11.h
libcmk_la_SOURCES += src/util/cknames.c src/util/cknames.h
nodist_libcmk_la_SOURCES = src/util/cknames_gen.c
src/util/cknames_gen.c: $(top_srcdir)/scripts/cknames.sh $(CKNAMES_FROM)
	$(AM_V_GEN)$(MKDIR_P) src/util && \
	$(SHELL) $(top_srcdir)/scripts/cknames.sh $(CKNAMES_FROM) >$@.tmp && \
	mv $@.tmp $@
CLEANFILES += src/util/cknames_gen.c
EXTRA_DIST += scripts/cknames.sh
