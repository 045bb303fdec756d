#!/usr/bin/env bash
# Tests of the Holocast browser client: npm deps (pinned), type check, the
# committed bundle and generated code are current, unit tests, and the
# end-to-end tests in headless Debian Chromium against a real render node
# (and a fleet: a NATS server, a render node and holocast-gateway).
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

echo "-- build holocast-node, holocast-gateway and nats-server (of the module's nats-server/v2)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd ../.. && go build -tags egl -o "$work/holocast-node" ./cmd/holocast-node \
  && go build -o "$work/holocast-gateway" ./cmd/holocast-gateway \
  && go build -o "$work/nats-server" github.com/nats-io/nats-server/v2)
export HOLOCAST_NODE_BIN="$work/holocast-node" HOLOCAST_GATEWAY_BIN="$work/holocast-gateway" HOLOCAST_NATS_BIN="$work/nats-server"

echo "-- end-to-end tests (headless Chromium)"
node --test --test-concurrency=1 test/e2e/

echo "-- web client tests passed in $((SECONDS - start)) s"
