#!/usr/bin/env bash
# Tests of the Holocast browser client: npm deps (pinned), type check, the
# committed bundle and generated code are current, unit tests, and the
# end-to-end tests in headless Debian Chromium against a real render node.
# Needs: node + npm, protoc, Go, /usr/bin/chromium (scripts/install-deps.sh --test).
set -euo pipefail
cd "$(dirname "$0")"
start=$SECONDS
[[ -x /usr/local/go/bin/go ]] && export PATH="/usr/local/go/bin:$PATH"

echo "-- npm ci"
npm ci --no-audit --no-fund --loglevel=error

echo "-- type check"
npx --no-install tsc --noEmit -p .

echo "-- committed bundle and generated code are current"
node build.mjs --check

echo "-- unit tests"
node test/build-tests.mjs
node --test .test-out/

echo "-- build holocast-node"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd ../.. && go build -tags egl -o "$work/holocast-node" ./cmd/holocast-node)
export HOLOCAST_NODE_BIN="$work/holocast-node"

echo "-- end-to-end tests (headless Chromium)"
node --test --test-concurrency=1 test/e2e/

echo "-- web client tests passed in $((SECONDS - start)) s"
