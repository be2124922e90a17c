# SPDX-License-Identifier: Apache-2.0
# The vendors' Node packages for the client tests (POSIX sh, sourced):
#   node_deps HERE   HERE: the directory of package.json and the committed
#                    package-lock.json
# installs them with npm ci into $CMK_NODE_DIR (default: the build tree's
# tests/clients/npm), reused while the lock is unchanged, and sets
# NODE_DIR. Tests that run at once (make -j) take turns through a lock
# (flock), so none uses a tree another is installing. Returns 1 with the
# reason in NODE_MISSING when node, npm or the packages cannot be had.

# Under the lock: the tree matches the lock, or npm ci makes it so.
node_deps_install() {
	if cmp -s "$1/package-lock.json" "$NODE_DIR/package-lock.json" &&
		[ -d "$NODE_DIR/node_modules/@google-cloud/kms" ] &&
		[ -d "$NODE_DIR/node_modules/@azure/keyvault-keys" ] &&
		[ -d "$NODE_DIR/node_modules/node-vault" ]; then
		return 0
	fi
	cp "$1/package.json" "$1/package-lock.json" "$NODE_DIR/" || return 1
	chmod u+w "$NODE_DIR/package.json" "$NODE_DIR/package-lock.json"
	# --ignore-scripts: nothing of the tree needs an install script.
	(cd "$NODE_DIR" && npm ci --ignore-scripts --no-audit --no-fund \
		--prefer-offline >npm-ci.log 2>&1) || {
		tail -n 20 "$NODE_DIR/npm-ci.log"
		rm -f "$NODE_DIR/package-lock.json"
		return 1
	}
}

node_deps() {
	NODE_MISSING=
	for tool in node npm; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			NODE_MISSING="$tool is missing (apt-get install nodejs npm)"
			return 1
		fi
	done
	NODE_DIR=${CMK_NODE_DIR:-${top_builddir:-.}/tests/clients/npm}
	NODE_MISSING="cannot write $NODE_DIR"
	mkdir -p "$NODE_DIR" || return 1
	NODE_DIR=$(cd "$NODE_DIR" && pwd) || return 1
	NODE_MISSING="npm ci of tests/clients/package-lock.json failed (offline?)"
	if command -v flock >/dev/null 2>&1; then
		(flock 9 && node_deps_install "$1") 9>"$NODE_DIR/.lock" ||
			return 1
	else
		node_deps_install "$1" || return 1
	fi
	NODE_MISSING=
	return 0
}
