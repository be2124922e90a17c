p11moduleconf_DATA += conf/cmk-pkcs11.module
CLEANFILES += conf/cmk-pkcs11.module
EXTRA_DIST += conf/cmk-pkcs11.module.in conf/example.json
conf/cmk-pkcs11.module: conf/cmk-pkcs11.module.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf && \
	sed -e 's|@p11moduledir[@]|$(p11moduledir)|g' \
		-e 's|@cmkconfigfile[@]|$(cmkconfigfile)|g' \
		$(srcdir)/conf/cmk-pkcs11.module.in > $@
# The azure provider's configuration sample (loaded by
# tests/unit/test_config.c) and its user documentation.
EXTRA_DIST += conf/azure-example.json docs/azure.md
