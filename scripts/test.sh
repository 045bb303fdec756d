#!/usr/bin/env bash
# Runs the whole Holocast test suite: installs what is missing, checks that
# the generated code and go.mod are current, vets and lints, runs the
# pure-Go packages without cgo, runs every Go test with the race detector
# against the real parts (EGL/llvmpipe, x264, openh264, pion, ffmpeg),
# checks the openh264 build, and runs the browser tests in headless
# Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
[[ -x /usr/local/go/bin/go ]] && export PATH="/usr/local/go/bin:$PATH"

echo "== generated protobuf code is current"
make -s proto >/dev/null
git diff --exit-code -- proto/holocastv1/ proto/fleetv1/ || { echo "proto/: generated code differs from proto/holocast.proto or proto/fleet.proto; run make proto and commit" >&2; exit 1; }

echo "== go.mod and go.sum are tidy"
go mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy and commit" >&2; exit 1; }

echo "== Kubernetes manifests render (Kustomize) and validate against the API types"
(cd deploy/validate && go mod tidy -diff && go run . ../base ../overlays/gpu)

echo "== go vet"
go vet -tags egl ./...

# The core builds and tests without cgo, GL or x264: on the pure-Go
# renderer (render/rendertest) and the fake encoder (encoder/encodertest).
# Those tests mostly wait on the network and timers, so they run beside
# golangci-lint, which mostly computes.
pure=(./pose/... ./signaling/... ./session/... ./node/... ./fleet/...)
echo "== go vet without cgo: ${pure[*]}"
CGO_ENABLED=0 go vet "${pure[@]}"
nocgo=$(mktemp)
trap 'rm -f "$nocgo"' EXIT
CGO_ENABLED=0 go test -timeout 10m "${pure[@]}" >"$nocgo" 2>&1 &
nocgo_pid=$!

echo "== golangci-lint"
bash scripts/lint.sh

echo "== go test without cgo: ${pure[*]}"
nocgo_rc=0
wait "$nocgo_pid" || nocgo_rc=$?
cat "$nocgo"
((nocgo_rc == 0)) || { echo "go test without cgo failed" >&2; exit "$nocgo_rc"; }

echo "== go test (race detector, real parts)"
go test -race -tags egl -timeout 20m ./...

echo "== openh264 build of the commands"
go vet -tags 'egl openh264' ./encoder/builtin ./cmd/...

if [[ -x clients/web/test.sh ]]; then
	echo "== web client"
	clients/web/test.sh
fi
echo "== all tests passed in $SECONDS s"
