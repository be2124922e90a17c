libcmk_la_SOURCES += \
	src/pkcs11/entry.h src/pkcs11/entry_list.h \
	src/pkcs11/general.c \
	src/pkcs11/reserved.h src/pkcs11/reserved.c \
	src/pkcs11/session.c \
	src/pkcs11/object.c \
	src/pkcs11/crypt.c src/pkcs11/sign.c src/pkcs11/digest.c \
	src/pkcs11/keys.c \
	src/pkcs11/fnlist.c

p11module_LTLIBRARIES += cmk-pkcs11.la
cmk_pkcs11_la_SOURCES = src/pkcs11/module.c
cmk_pkcs11_la_LIBADD = libcmk.la
cmk_pkcs11_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared \
	-no-undefined -Wl,--no-undefined -Wl,-z,nodelete \
	-Wl,--version-script=$(top_srcdir)/src/pkcs11/exports.map
EXTRA_DIST += src/pkcs11/exports.map
