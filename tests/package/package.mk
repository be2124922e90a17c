# The Debian package (debian/) travels in the distribution, so that a
# release tarball builds it too; tests/package/README.md says how to run
# test_deb.sh (root, installs packages: not part of make check, .ci/run
# runs it as its own stage). make check compares the versions only.
TESTS += tests/package/test_deb_version.sh
EXTRA_DIST += tests/package/test_deb_version.sh tests/package/test_deb.sh \
	tests/package/README.md \
	debian/changelog debian/control debian/copyright debian/rules \
	debian/source/format debian/cmk-pkcs11.install \
	debian/cmk-pkcs11-dev.install debian/cmk-pkcs11.docs \
	debian/cmk-pkcs11.examples debian/cmk-pkcs11.README.Debian
