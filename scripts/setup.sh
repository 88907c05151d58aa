#!/usr/bin/env bash
# setup.sh installs every guest and test toolchain `make test` needs, from
# Debian packages and the npm registry, and does nothing when they are all
# present:
#
#   C              clang-14, lld-14, wasi-libc, libclang-rt-14-dev-wasm32
#   Rust           rustc, cargo, libstd-rust-dev-wasm32 (Debian's 1.63, run
#                  as /usr/bin/cargo: a rustup toolchain earlier on PATH
#                  usually has no wasm32-wasi standard library)
#   browser tests  chromium (headless)
#   AssemblyScript `npm ci` in guest-sdks/assemblyscript (the compiler pinned
#                  by its package-lock.json); needs node and npm
#
# Missing packages are installed together after one `apt-get update`. It runs
# as root or through sudo.
#
# Debian installs wasi-libc multiarch-style (/usr/include/wasm32-wasi,
# /usr/lib/wasm32-wasi); clang's default search path for that layout also
# includes the build machine's /usr/include. This script therefore links a
# wasi-sdk-style sysroot at /usr/share/wasi-sysroot that holds only the WASI
# headers and libraries, so that --sysroot=/usr/share/wasi-sysroot can never
# pick up a glibc header.
set -euo pipefail

cd "$(dirname "$0")/.."

SYSROOT=/usr/share/wasi-sysroot
AS_DIR=guest-sdks/assemblyscript

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
fi

have_c() {
	command -v clang-14 >/dev/null 2>&1 &&
		command -v wasm-ld-14 >/dev/null 2>&1 &&
		[ -f /usr/include/wasm32-wasi/stdio.h ] &&
		ls /usr/lib/llvm-14/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1
}

have_rust() {
	[ -x /usr/bin/cargo ] && [ -x /usr/bin/rustc ] &&
		ls /usr/lib/rustlib/wasm32-wasi/lib/libstd-*.rlib >/dev/null 2>&1
}

have_chromium() {
	[ -x /usr/bin/chromium ]
}

missing=()
have_c || missing+=(clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32)
have_rust || missing+=(rustc cargo libstd-rust-dev-wasm32)
have_chromium || missing+=(chromium)

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
		echo "setup: need root (or sudo) to install ${missing[*]}" >&2
		exit 1
	fi
	echo "setup: apt-get update"
	$SUDO apt-get update -q
	echo "setup: apt-get install ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The sysroot link (see the top of this file).
if [ ! -f "$SYSROOT/include/stdio.h" ] && [ -f /usr/include/wasm32-wasi/stdio.h ]; then
	echo "setup: linking $SYSROOT to /usr/include/wasm32-wasi and /usr/lib/wasm32-wasi"
	$SUDO mkdir -p "$SYSROOT/lib"
	$SUDO ln -sfn /usr/include/wasm32-wasi "$SYSROOT/include"
	$SUDO ln -sfn /usr/lib/wasm32-wasi "$SYSROOT/lib/wasm32-wasi"
fi

# AssemblyScript: the compiler pinned by the SDK's lock file, installed once
# per lock file (npm ci removes node_modules first, so it is not rerun while
# the installed tree matches the lock).
if [ -f "$AS_DIR/package-lock.json" ]; then
	if ! command -v npm >/dev/null 2>&1; then
		echo "setup: npm not found; AssemblyScript guests need Node.js and npm" >&2
		exit 1
	fi
	if ! cmp -s "$AS_DIR/package-lock.json" "$AS_DIR/node_modules/.package-lock.json.installed" 2>/dev/null; then
		echo "setup: npm ci in $AS_DIR"
		(cd "$AS_DIR" && npm ci --no-audit --no-fund --loglevel=error)
		cp "$AS_DIR/package-lock.json" "$AS_DIR/node_modules/.package-lock.json.installed"
	fi
fi

problems=()
have_c && [ -f "$SYSROOT/include/stdio.h" ] || problems+=("C (clang-14, wasm-ld-14, $SYSROOT)")
have_rust || problems+=("Rust (/usr/bin/cargo with the wasm32-wasi standard library)")
have_chromium || problems+=("chromium")
if [ ${#problems[@]} -gt 0 ]; then
	echo "setup: still missing after install: ${problems[*]}" >&2
	exit 1
fi
echo "setup: toolchains ready ($(clang-14 --version | head -1); $(/usr/bin/rustc --version); $(/usr/bin/chromium --version 2>/dev/null | head -1))"
