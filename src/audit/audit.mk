# audit: JSON Lines writer with a keyed chain per writer and thread, and
# its verifier (scanner, field scanner, chain table, mac, report).
libcmk_la_SOURCES += \
	src/audit/audit.h \
	src/audit/audit_cfg.c src/audit/audit_cfg.h \
	src/audit/line.c src/audit/line.h \
	src/audit/writer.c \
	src/audit/verify.c src/audit/verify.h src/audit/vint.h \
	src/audit/vscan.c src/audit/vscan.h \
	src/audit/vfields.c src/audit/vfields.h \
	src/audit/vtable.c src/audit/vtable.h \
	src/audit/vreport.c \
	src/audit/vcontrol.c \
	src/audit/vanchor.c \
	src/audit/vformat1.c
