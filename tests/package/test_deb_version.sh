#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# debian/changelog names the package and version configure.ac's AC_INIT
# does (a native package: the version has no Debian revision), so a
# release cannot build a .deb that says another version.
set -euo pipefail

: "${top_srcdir:?make check sets top_srcdir}"
: "${top_builddir:?make check sets top_builddir}"
changelog=$top_srcdir/debian/changelog
config_h=$top_builddir/config.h
[ -f "$changelog" ] || { echo "FAIL: no $changelog"; exit 1; }
[ -f "$config_h" ] || { echo "ERROR: no $config_h"; exit 99; }

# The first line: "NAME (VERSION) DISTRIBUTION; urgency=...".
read -r deb_name deb_version _ <"$changelog"
deb_version=${deb_version#(}
deb_version=${deb_version%)}
ac_name=$(sed -n 's/^#define PACKAGE_TARNAME "\(.*\)"$/\1/p' "$config_h")
ac_version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$config_h")
echo "debian/changelog: $deb_name $deb_version; AC_INIT: $ac_name $ac_version"
[ -n "$ac_version" ] || { echo "ERROR: no PACKAGE_VERSION in $config_h"; exit 99; }
[ "$deb_name" = "$ac_name" ] ||
    { echo "FAIL: debian/changelog names $deb_name, AC_INIT $ac_name"; exit 1; }
[ "$deb_version" = "$ac_version" ] || {
    echo "FAIL: debian/changelog says $deb_version, AC_INIT $ac_version"
    exit 1
}
echo "PASS"
