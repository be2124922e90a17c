# tests/integration/asym: tokens' key pairs under real clients (OpenSSL's
# pkcs11 engine with TLS, pkcs11-tool, p11tool, Java SunPKCS11), on
# SoftHSM2 as the control and on our module with local-provider
# "key_pairs". asym_steps.sh runs the same steps on any module.
ASYM_TESTS = \
	tests/integration/asym/test_asym_openssl.sh \
	tests/integration/asym/test_asym_pkcs11_tool.sh \
	tests/integration/asym/test_asym_p11tool.sh \
	tests/integration/asym/test_asym_java.sh
TESTS += $(ASYM_TESTS)
EXTRA_DIST += $(ASYM_TESTS) \
	tests/integration/asym/asymlib.sh \
	tests/integration/asym/asym_steps.sh \
	tests/integration/asym/audit_uses.py \
	tests/integration/asym/steps_openssl.sh \
	tests/integration/asym/steps_pkcs11_tool.sh \
	tests/integration/asym/steps_p11tool.sh \
	tests/integration/asym/steps_java.sh \
	tests/integration/asym/AsymJava.java
