# audit: JSON Lines writer with a keyed chain per writer and thread
# (shared-mapping file, rotation, syslog copy), and its verifier
# (scanner, field scanner, chain table, mac, report).
libcmk_la_SOURCES += \
	src/audit/audit.h \
	src/audit/audit_cfg.c src/audit/audit_cfg.h \
	src/audit/audit_int.h \
	src/audit/line.c src/audit/line.h \
	src/audit/head.c src/audit/head.h \
	src/audit/afile.c src/audit/afile.h \
	src/audit/agrow.c src/audit/agrow.h \
	src/audit/shm.c src/audit/shm.h \
	src/audit/slog.c src/audit/slog.h \
	src/audit/chain.c \
	src/audit/emit.c \
	src/audit/control.c \
	src/audit/rotate.c \
	src/audit/writer.c \
	src/audit/verify.c src/audit/verify.h src/audit/vint.h \
	src/audit/vscan.c src/audit/vscan.h \
	src/audit/vfields.c src/audit/vfields.h \
	src/audit/vtable.c src/audit/vtable.h \
	src/audit/vreport.c \
	src/audit/vcontrol.c \
	src/audit/vanchor.c \
	src/audit/vformat1.c
EXTRA_DIST += docs/audit-format.md
