libcmk_la_SOURCES += \
	src/core/settings.h src/core/settings.c src/core/settings_int.h \
	src/core/settings_tenant.c src/core/settings_dual.c \
	src/core/settings_keks.c src/core/settings_kp.c src/core/settings_keyref.c \
	src/core/keypair.h src/core/keypair.c src/core/kpobj.h src/core/kpobj.c \
	src/core/sign.h src/core/sign.c src/core/kpcrypt.h src/core/kpcrypt.c \
	src/core/digest.h src/core/digest.c \
	src/core/policy.h src/core/policy_int.h src/core/policy.c \
	src/core/policy_table.c src/core/policy_new.c src/core/policy_cmk.c \
	src/core/keyrules.h src/core/keyrules.c
libcmk_la_SOURCES += \
	src/core/module.h src/core/module.c \
	src/core/handles.h src/core/handles.c \
	src/core/token.h src/core/token.c \
	src/core/token_store.h src/core/token_store.c \
	src/core/seen_gen.h src/core/seen_gen.c \
	src/core/session.h src/core/session.c \
	src/core/object.h src/core/object.c src/core/objremove.c \
	src/core/objops.h src/core/objops.c \
	src/core/find.h src/core/find.c \
	src/core/keyuse.h src/core/keyuse.c \
	src/core/keymemo.h src/core/keymemo.c \
	src/core/crypt.h src/core/crypt.c \
	src/core/envelope_op.h src/core/envelope_op.c \
	src/core/keyops.h src/core/keyops.c \
	src/core/record.h src/core/record.c
libcmk_la_SOURCES += \
	src/core/pinguard.h src/core/pinguard.c
