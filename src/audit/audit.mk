# audit: JSON Lines writer with a hash chain per writer, and its verifier.
libcmk_la_SOURCES += \
	src/audit/audit.h \
	src/audit/audit_cfg.c src/audit/audit_cfg.h \
	src/audit/line.c src/audit/line.h \
	src/audit/writer.c \
	src/audit/verify.c
