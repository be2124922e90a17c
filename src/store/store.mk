# The token-object store: sealed object files and their manifest on disk.
# A layer between core and keys; it uses only mech and util.
libcmk_la_SOURCES += \
	src/store/store.h src/store/store.c src/store/store_int.h \
	src/store/store_manifest.c src/store/store_ops.c \
	src/store/store_id.c src/store/store_keys.c
