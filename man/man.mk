# Manual pages: cmk-tool(1), cmk-pkcs11.json(5) and cmk-pkcs11(8), written
# in scdoc (man/*.scd) and made into roff by scdoc (configure finds it).
# The roff pages are distributed, so that a release tarball builds and
# installs them without scdoc; in a git checkout scdoc is needed, and
# configure stops without it. Installed as $(mandir)/man1/cmk-tool.1,
# $(mandir)/man5/cmk-pkcs11.json.5 and $(mandir)/man8/cmk-pkcs11.8.
# Read one uninstalled: man -l man/cmk-tool.1 (in the build directory).
MAN_PAGES = man/cmk-tool.1 man/cmk-pkcs11.json.5 man/cmk-pkcs11.8
dist_man_MANS = $(MAN_PAGES)
MAINTAINERCLEANFILES = $(MAN_PAGES)
EXTRA_DIST += man/cmk-tool.1.scd man/cmk-pkcs11.json.5.scd \
	man/cmk-pkcs11.8.scd man/mancheck.py
# The pages render without a warning; they have not drifted from cmk-tool's
# --help, the configuration parsers, C_GetMechanismList and
# include/cmk-pkcs11.h, nor README's cmk-tool options from --help.
TESTS += man/test_man_render.sh man/test_man_drift.sh
EXTRA_DIST += man/test_man_render.sh man/test_man_drift.sh

man_scdoc = $(MKDIR_P) man && \
	if test -z '$(SCDOC)'; then \
		echo "$@: scdoc is needed to make it from $$scd" \
			"(a release tarball ships it made)" >&2; \
		exit 1; \
	fi && \
	$(SCDOC) <"$$scd" >$@.tmp && mv -f $@.tmp $@
man/cmk-tool.1: $(srcdir)/man/cmk-tool.1.scd
	$(AM_V_GEN)scd=$(srcdir)/man/cmk-tool.1.scd; $(man_scdoc)
man/cmk-pkcs11.json.5: $(srcdir)/man/cmk-pkcs11.json.5.scd
	$(AM_V_GEN)scd=$(srcdir)/man/cmk-pkcs11.json.5.scd; $(man_scdoc)
man/cmk-pkcs11.8: $(srcdir)/man/cmk-pkcs11.8.scd
	$(AM_V_GEN)scd=$(srcdir)/man/cmk-pkcs11.8.scd; $(man_scdoc)
