#!/usr/bin/env bash
# setup-c.sh installs the C guest toolchain (clang 14 for wasm32-wasi, the
# wasi-libc sysroot and the wasm32 compiler runtime) from Debian packages.
# It is idempotent: when clang-14, wasm-ld-14 and the sysroot are present it
# does nothing. It runs as root or through sudo.
#
# Debian installs wasi-libc multiarch-style (/usr/include/wasm32-wasi,
# /usr/lib/wasm32-wasi); clang's default search path for that layout also
# includes the build machine's /usr/include. This script therefore links a
# wasi-sdk-style sysroot at /usr/share/wasi-sysroot that holds only the WASI
# headers and libraries, so that --sysroot=/usr/share/wasi-sysroot can never
# pick up a glibc header.
set -euo pipefail

SYSROOT=/usr/share/wasi-sysroot
PACKAGES=(clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32)

have_toolchain() {
	command -v clang-14 >/dev/null 2>&1 &&
		command -v wasm-ld-14 >/dev/null 2>&1 &&
		[ -f "$SYSROOT/include/stdio.h" ] &&
		ls /usr/lib/llvm-14/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1
}

# link_sysroot makes /usr/share/wasi-sysroot from Debian's multiarch paths.
link_sysroot() {
	if [ -f "$SYSROOT/include/stdio.h" ] || [ ! -f /usr/include/wasm32-wasi/stdio.h ]; then
		return 0
	fi
	echo "setup-c: linking $SYSROOT to /usr/include/wasm32-wasi and /usr/lib/wasm32-wasi"
	$SUDO mkdir -p "$SYSROOT/lib"
	$SUDO ln -sfn /usr/include/wasm32-wasi "$SYSROOT/include"
	$SUDO ln -sfn /usr/lib/wasm32-wasi "$SYSROOT/lib/wasm32-wasi"
}

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
fi

if have_toolchain; then
	echo "setup-c: clang-14, wasm-ld-14 and $SYSROOT present; nothing to do"
	exit 0
fi

if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
	echo "setup-c: need root (or sudo) to install ${PACKAGES[*]}" >&2
	exit 1
fi

if ! command -v clang-14 >/dev/null 2>&1 || ! command -v wasm-ld-14 >/dev/null 2>&1 ||
	[ ! -f /usr/include/wasm32-wasi/stdio.h ] ||
	! ls /usr/lib/llvm-14/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1; then
	echo "setup-c: apt-get update"
	$SUDO apt-get update -q
	echo "setup-c: apt-get install ${PACKAGES[*]}"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
fi
link_sysroot

if ! have_toolchain; then
	echo "setup-c: installed ${PACKAGES[*]} but the toolchain is still incomplete" >&2
	exit 1
fi
echo "setup-c: done ($(clang-14 --version | head -1))"
