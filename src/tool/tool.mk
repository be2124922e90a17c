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
	src/tool/rotlast.h \
	src/tool/rotlast.c \
	src/tool/import.h \
	src/tool/import_key.c \
	src/tool/import_local.c \
	src/tool/import_aws.c \
	src/tool/keyfile.h \
	src/tool/keyfile.c \
	src/tool/utc.h \
	src/tool/utc.c \
	src/tool/kek_commit.c \
	src/tool/local_key.c \
	src/tool/pin_hash.c \
	src/tool/pin_reset.c \
	src/tool/provision.c \
	src/tool/health.c \
	src/tool/cmd_audit.c
cmk_tool_LDADD = libcmk.la $(DEP_LIBS)
