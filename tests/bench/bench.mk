# tests/bench: cmk-bench, built by make (not run by make check). It loads
# any PKCS#11 module by path, so our module, SoftHSM2 and raw OpenSSL EVP
# run the same scenarios in one run. `make bench` runs the comparison.
noinst_PROGRAMS += cmk-bench
cmk_bench_SOURCES = \
	tests/bench/bench.h \
	tests/bench/p11_int.h \
	tests/bench/main.c \
	tests/bench/stats.c \
	tests/bench/steal.c \
	tests/bench/ckr.c \
	tests/bench/p11.c \
	tests/bench/p11_ops.c \
	tests/bench/ossl.c
# -O2 after the debug build's -O0: the bench must not be the bottleneck.
cmk_bench_CFLAGS = $(AM_CFLAGS) -O2
cmk_bench_LDADD = $(OPENSSL_LIBS)
# cmk-grow: the driver of the tenant and token-object cost curves
# (curve_tenants.sh, curve_objects.sh), on p11.c's module setup.
noinst_PROGRAMS += cmk-grow
cmk_grow_SOURCES = \
	tests/bench/bench.h \
	tests/bench/p11_int.h \
	tests/bench/grow.c \
	tests/bench/rss.c \
	tests/bench/ckr.c \
	tests/bench/p11.c
cmk_grow_CFLAGS = $(AM_CFLAGS) -O2
EXTRA_DIST += \
	tests/bench/run.sh \
	tests/bench/file_speed.sh \
	tests/bench/summary.py \
	tests/bench/curves.sh \
	tests/bench/curves_plot.py \
	tests/bench/curve_points.py \
	tests/bench/curve_tenants.sh \
	tests/bench/curve_objects.sh \
	tests/bench/curve_cache.sh \
	tests/bench/curve_miss.sh \
	tests/bench/curve_wrap.sh \
	tests/bench/curve_lib.sh \
	tests/bench/curve_data.py \
	tests/bench/README.md

.PHONY: bench
bench: cmk-bench$(EXEEXT) cmk-grow$(EXEEXT) cmk-curve$(EXEEXT) \
	cmk-audit-speed$(EXEEXT) cmk-tool$(EXEEXT) cmk-pkcs11.la
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	CMK_MODULE='$(abs_top_builddir)/$(ltobjdir)/cmk-pkcs11.so' \
	bash $(top_srcdir)/tests/bench/run.sh
# cmk-aes-speed: mech/aes.h paths next to raw EVP (AES-256 GCM and CTR).
noinst_PROGRAMS += cmk-aes-speed
cmk_aes_speed_SOURCES = tests/bench/aes_speed.c
cmk_aes_speed_CFLAGS = $(AM_CFLAGS) -O2
cmk_aes_speed_LDADD = libcmk.la $(DEP_LIBS)
# cmk-audit-speed: where the time of one audit record goes (HMAC, write,
# a shared-mapping floor, the whole record on one and two threads).
noinst_PROGRAMS += cmk-audit-speed
cmk_audit_speed_SOURCES = tests/bench/audit_speed.c
cmk_audit_speed_CFLAGS = $(AM_CFLAGS) -O2
cmk_audit_speed_LDADD = libcmk.la $(DEP_LIBS)
# make check's smoke run of the cost curves (the smallest sizes: seconds);
# the programs it runs (cmk-grow, cmk-tool, the module) are built by all.
TESTS += tests/bench/test_curves_smoke.sh
EXTRA_DIST += tests/bench/test_curves_smoke.sh
# summary.py's target lines on a made-up results file.
TESTS += tests/bench/test_summary.sh
EXTRA_DIST += tests/bench/test_summary.sh
# cmk-curve: the cost curves' driver (curve_cache.sh, curve_miss.sh,
# curve_wrap.sh): blob files, a cache filled with N DEKs, a log of every
# operation to match with the KMS emulator's call log.
noinst_PROGRAMS += cmk-curve
cmk_curve_SOURCES = \
	tests/bench/curve.h \
	tests/bench/curve_main.c \
	tests/bench/curve_run.c \
	tests/bench/rss.c \
	tests/bench/bench.h \
	tests/bench/p11_int.h \
	tests/bench/p11.c \
	tests/bench/p11_ops.c \
	tests/bench/ckr.c
cmk_curve_CFLAGS = $(AM_CFLAGS) -O2
cmk_curve_LDADD = $(OPENSSL_LIBS)
