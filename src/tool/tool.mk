# cmk-tool: provisioning and health checks, linked against libcmk.la.
bin_PROGRAMS += cmk-tool
cmk_tool_SOURCES = \
	src/tool/tool.h \
	src/tool/main.c \
	src/tool/util.c \
	src/tool/config_write.c \
	src/tool/event.h \
	src/tool/event.c \
	src/tool/rotlock.h \
	src/tool/rotlock.c \
	src/tool/kek_commit.c \
	src/tool/local_key.c \
	src/tool/pin_hash.c \
	src/tool/pin_reset.c \
	src/tool/provision.c \
	src/tool/health.c \
	src/tool/cmd_audit.c \
	src/tool/rewrap.h \
	src/tool/rewrap_int.h \
	src/tool/rewrap.c \
	src/tool/rewrap_run.c \
	src/tool/rewrap_input.c \
	src/tool/rewrap_file.c \
	src/tool/rewrap_journal.c \
	src/tool/rewrap_progress.c \
	src/tool/rewrap_direct.c
cmk_tool_LDADD = libcmk.la $(DEP_LIBS)
