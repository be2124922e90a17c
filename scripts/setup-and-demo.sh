#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# One command from a fresh Debian 12 checkout to a running demo: installs the
# build and test packages that are missing, builds the module and cmk-tool,
# installs them (the module into p11-kit's module directory, cmk-tool into
# /usr/local/bin), then runs scripts/demo.sh on the installed module (two
# tenants on the local provider, driven with pkcs11-tool).
# CMK_NO_INSTALL=1 skips the install; the demo then uses the build tree.
#
#   ./scripts/setup-and-demo.sh
#
# It builds out of tree, in build/ (BUILD_DIR=/some/dir picks another), so
# .ci/run, which configures its own out-of-tree builds, works afterwards in
# the same clone.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$SRC/build}

PACKAGES=(
    autoconf automake libtool pkg-config make gcc g++
    libssl-dev libcurl4-openssl-dev libjansson-dev libsodium-dev
    libp11-kit-dev libcmocka-dev p11-kit
    opensc gnutls-bin softhsm2 python3-pykcs11 python3-cryptography
    libengine-pkcs11-openssl
    python3-matplotlib scdoc man-db groff-base
)

say() {
    printf '\n\033[1m### %s\033[0m\n' "$*"
}

install_missing() {
    local p missing=() sudo=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "all packages present"
        return 0
    fi
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    echo "installing: ${missing[*]}"
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
}

build() {
    cd "$SRC"
    [ -x configure ] || ./autogen.sh
    mkdir -p "$BUILD_DIR"
    cd "$BUILD_DIR"
    [ -f Makefile ] || "$SRC/configure"
    make -j"$(nproc)"
}

install_module() {
    local sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    "${sudo[@]}" make -C "$BUILD_DIR" install
}

say "1/4 packages"
install_missing
say "2/4 build (autogen, configure, make)"
build
if [ "${CMK_NO_INSTALL:-0}" = 1 ]; then
    say "3/4 install: skipped (CMK_NO_INSTALL=1)"
else
    say "3/4 install (make install: module into p11-kit's module directory)"
    install_module
    export MODULE
    MODULE=$(pkg-config --variable=p11_module_path p11-kit-1)/cmk-pkcs11.so
fi
say "4/4 demo"
BUILD_DIR=$BUILD_DIR exec "$SRC/scripts/demo.sh"
