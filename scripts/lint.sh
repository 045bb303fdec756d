#!/usr/bin/env bash
# Runs golangci-lint at the pinned version (.golangci.yml), installing it
# into the Go bin directory on first use (a few minutes, once per machine).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x /usr/local/go/bin/go ]] && export PATH="/usr/local/go/bin:$PATH"
version=v2.15.0
bin="$(go env GOPATH)/bin/golangci-lint-$version"
if [[ ! -x "$bin" ]]; then
	echo "installing golangci-lint $version" >&2
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	GOBIN="$tmp" go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$version"
	mkdir -p "$(dirname "$bin")"
	mv "$tmp/golangci-lint" "$bin"
fi
exec "$bin" run "$@" ./...
