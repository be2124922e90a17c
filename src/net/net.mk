# net: HTTP over libcurl, retries, SigV4, JSON helpers, credential sources.
libcmk_la_SOURCES += \
	src/net/strbuf.c src/net/strbuf.h \
	src/net/sigv4.c src/net/sigv4_canon.c src/net/sigv4.h \
	src/net/sigv4_int.h \
	src/net/http.c src/net/http.h src/net/url.c \
	src/net/http_cfg.c src/net/http_cfg.h \
	src/net/retry.c src/net/retry.h \
	src/net/json.c src/net/json.h \
	src/net/ini.c src/net/ini.h \
	src/net/creds.c src/net/creds.h src/net/creds_int.h \
	src/net/creds_chain.c \
	src/net/creds_cache.c src/net/creds_fetch.c \
	src/net/creds_static.c src/net/creds_profile.c \
	src/net/creds_web.c src/net/creds_http.c src/net/creds_say.c \
	src/net/gauth.h src/net/gauth_int.h src/net/gauth.c \
	src/net/gauth_adc.c src/net/gauth_file.c src/net/gauth_token.c \
	src/net/gauth_jwt.c src/net/gauth_sa.c src/net/gauth_user.c \
	src/net/gauth_ext.c src/net/gauth_ext_src.c src/net/gauth_imp.c \
	src/net/gauth_md.c \
	src/net/azauth.h src/net/azauth.c src/net/azauth_chain.c \
	src/net/azauth_int.h src/net/azauth_env.c src/net/azauth_token.c \
	src/net/azauth_secret.c src/net/azauth_cert.c src/net/azauth_jwt.c \
	src/net/azauth_wi.c src/net/azauth_mi.c \
	src/net/vauth.h src/net/vauth_int.h src/net/vauth.c \
	src/net/vauth_static.c src/net/vauth_login.c src/net/vauth_token.c
