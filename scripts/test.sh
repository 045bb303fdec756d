#!/usr/bin/env bash
# Runs the whole Holocast test suite: installs what is missing, checks the
# generated code is current, vets, and runs every Go test with the race
# detector against the real parts (EGL/llvmpipe, x264, pion, ffmpeg), the
# openh264 build, and the browser tests in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
[[ -x /usr/local/go/bin/go ]] && export PATH="/usr/local/go/bin:$PATH"

echo "== generated protobuf code is current"
make -s proto >/dev/null
git diff --exit-code -- proto/holocastv1/ || { echo "proto/: generated code differs from proto/holocast.proto; run make proto and commit" >&2; exit 1; }

echo "== go vet"
go vet -tags egl ./...

echo "== go test (race detector)"
go test -race -tags egl -timeout 20m ./...

echo "== go test, openh264 encoder build"
go test -tags 'egl openh264' -timeout 10m ./encoder/...

if [[ -x clients/web/test.sh ]]; then
	echo "== web client"
	clients/web/test.sh
fi
echo "== all tests passed"
