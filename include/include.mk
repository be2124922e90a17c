include_HEADERS = include/cmk-pkcs11.h

# pkg-config file for applications: the header's Cflags, the module's
# installed path and the default config path (cmk-pkcs11.pc.in). Written
# by make, like conf/cmk-pkcs11.module, so the paths are the ones make
# install uses and cmkconfigfile has one definition (Makefile.am).
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = cmk-pkcs11.pc
CLEANFILES += cmk-pkcs11.pc
EXTRA_DIST += cmk-pkcs11.pc.in
cmk-pkcs11.pc: $(srcdir)/cmk-pkcs11.pc.in Makefile
	$(AM_V_GEN)sed -e 's|@prefix[@]|$(prefix)|g' \
		-e 's|@exec_prefix[@]|$(exec_prefix)|g' \
		-e 's|@libdir[@]|$(libdir)|g' \
		-e 's|@includedir[@]|$(includedir)|g' \
		-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
		-e 's|@p11moduledir[@]|$(p11moduledir)|g' \
		-e 's|@cmkconfigfile[@]|$(cmkconfigfile)|g' \
		-e 's|@VERSION[@]|$(VERSION)|g' \
		$(srcdir)/cmk-pkcs11.pc.in > $@

# The example program and its plain Makefile, installed as documentation
# (built and run against the installed header by
# tests/integration/test_example.sh).
examplesdir = $(docdir)/examples
dist_examples_DATA = examples/envelope.c examples/Makefile
