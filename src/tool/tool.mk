# cmk-tool: provisioning and health checks, linked against libcmk.la.
bin_PROGRAMS += cmk-tool
cmk_tool_SOURCES = \
	src/tool/tool.h \
	src/tool/main.c \
	src/tool/util.c \
	src/tool/config_write.c \
	src/tool/backup.c \
	src/tool/event.h \
	src/tool/event.c \
	src/tool/rotlock.h \
	src/tool/rotlock.c \
	src/tool/kek_commit.c \
	src/tool/local_key.c \
	src/tool/pin_hash.c \
	src/tool/pin_reset.c \
	src/tool/provision.c \
	src/tool/dual.h \
	src/tool/dual.c \
	src/tool/health.h \
	src/tool/kek.h \
	src/tool/kek_seal.c \
	src/tool/config_keks.c \
	src/tool/rotate_kek.h \
	src/tool/rotate_kek.c \
	src/tool/rotate_kek_cmd.c \
	src/tool/rotkek_store.c \
	src/tool/rotkek_journal.h \
	src/tool/rotkek_journal.c \
	src/tool/rewrap_kek.h \
	src/tool/rewrap_kek.c \
	src/tool/health.c \
	src/tool/health_check.c \
	src/tool/rotate_cmk.h \
	src/tool/rotate_cmk.c \
	src/tool/rotate_cmk_steps.c \
	src/tool/cmd_audit.c \
	src/tool/file_format.h \
	src/tool/file_format.c \
	src/tool/file_io.h \
	src/tool/file_io.c \
	src/tool/file_p11.h \
	src/tool/file_p11.c \
	src/tool/file_stream.h \
	src/tool/file_stream.c \
	src/tool/file_cmd.h \
	src/tool/file_args.c \
	src/tool/cmd_file.c
cmk_tool_LDADD = libcmk.la $(DEP_LIBS)
