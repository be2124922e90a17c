# net: HTTP over libcurl, retries, SigV4, credential sources.
libcmk_la_SOURCES += \
	src/net/strbuf.c src/net/strbuf.h \
	src/net/sigv4.c src/net/sigv4_canon.c src/net/sigv4.h \
	src/net/sigv4_int.h
