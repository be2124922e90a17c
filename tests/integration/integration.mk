# tests/integration and tests/interop: the built module under real clients
# (pkcs11-tool, p11tool, PyKCS11, SunPKCS11) and side by side with SoftHSM2.
# Plain exit-code tests: 0 pass, 77 skip, 99 hard error (CI=true turns a
# missing tool into 99).
INTEGRATION_TESTS = \
	tests/integration/test_cmkpy.py \
	tests/integration/test_pkcs11_tool.sh \
	tests/integration/test_p11tool.sh \
	tests/integration/test_pykcs11.py \
	tests/integration/test_asym_pykcs11.py \
	tests/integration/test_java.sh \
	tests/integration/test_demo.sh \
	tests/integration/test_module_file.sh \
	tests/integration/test_rotate_cmk.sh \
	tests/integration/test_dual_tool.sh \
	tests/integration/test_file_crypt.sh \
	tests/integration/test_rotate_kek.sh \
	tests/integration/test_dual_rotkek.sh \
	tests/integration/test_lifecycle.sh \
	tests/integration/test_example.sh \
	tests/integration/test_p11kit_server.sh \
	tests/interop/test_softhsm_diff.sh
TESTS += $(INTEGRATION_TESTS)
# test_p11kit_server.sh checks the limits this page documents.
EXTRA_DIST += docs/p11-kit-server.md

# cmk-tool rewrap: blobs made and checked through the built module.
check_PROGRAMS += tests/integration/rewrap_blobs
tests_integration_rewrap_blobs_SOURCES = tests/integration/rewrap_blobs.c
tests_integration_rewrap_blobs_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)
TESTS += tests/integration/test_rewrap.sh
EXTRA_DIST += tests/integration/test_rewrap.sh
EXTRA_DIST += $(INTEGRATION_TESTS) \
	tests/integration/lib.sh \
	tests/integration/cmkpy.py \
	tests/integration/kmsp11.py \
	tests/integration/rotate_blobs.py \
	tests/integration/kek_blobs.py \
	tests/integration/lifecycle_apps.py \
	tests/integration/file_tamper.py \
	tests/integration/p11kit_client.py \
	tests/integration/CmkJava.java \
	tests/interop/test_softhsm_diff.py \
	scripts/demo.sh scripts/setup-and-demo.sh

if SANITIZERS
# The clients are not instrumented: lib.sh and cmkpy.py preload libasan
# into them (it must come first in the DSO list), and libstdc++ so that
# ASan's __cxa_throw interceptor finds the real one when a C++ extension
# (PyKCS11) is loaded later.
AM_TESTS_ENVIRONMENT += \
	CMK_ASAN_PRELOAD="`$(CC) -print-file-name=libasan.so` `$(CC) -print-file-name=libstdc++.so.6`"; \
	export CMK_ASAN_PRELOAD;
endif

# Key pairs under real clients.
include tests/integration/asym/asym.mk
