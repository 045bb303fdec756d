#!/usr/bin/env bash
# Installs what Holocast needs on a Debian/Ubuntu machine, skipping what is
# already there. Usage: scripts/install-deps.sh [--test]
#   (no flag)  build and run the node: C toolchain, x264, libyuv, EGL/Mesa
#   --test     also what the test suite uses: ffmpeg/ffprobe, protoc,
#              Chromium, Node.js and npm, and the Khronos glTF sample
#              models of assimp-testmodels for the scene loader's tests
set -euo pipefail

want=(build-essential pkg-config libx264-dev libyuv-dev libegl-dev libgles-dev libegl1-mesa-dev libgl1-mesa-dri libegl-mesa0)
if [[ "${1:-}" == "--test" ]]; then
	want+=(ffmpeg protobuf-compiler chromium nodejs npm assimp-testmodels)
fi

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm may come from elsewhere than Debian; accept them on PATH.
if command -v node >/dev/null && command -v npm >/dev/null; then
	filtered=()
	for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
	missing=("${filtered[@]}")
fi

if ((${#missing[@]})); then
	echo "installing: ${missing[*]}" >&2
	sudo=""
	[[ $(id -u) -eq 0 ]] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Go: the module needs Go 1.26 or newer.
if ! command -v go >/dev/null; then
	[[ -x /usr/local/go/bin/go ]] && export PATH="/usr/local/go/bin:$PATH"
fi
if ! command -v go >/dev/null; then
	echo "Go 1.26 or newer is required: install it from https://go.dev/dl/ and put it on PATH" >&2
	exit 1
fi
v=$(go env GOVERSION | sed 's/^go//')
major=${v%%.*}; rest=${v#*.}; minor=${rest%%.*}
if ((major < 1 || (major == 1 && minor < 26))); then
	echo "Go $v is too old: Holocast needs Go 1.26 or newer (https://go.dev/dl/)" >&2
	exit 1
fi
