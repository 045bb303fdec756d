#!/usr/bin/env bash
# Installs what is missing, builds the render node and runs it on the
# built-in scene. Extra arguments go to holocast-node (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[[ -x /usr/local/go/bin/go ]] && export PATH="/usr/local/go/bin:$PATH"
mkdir -p .bin
go build -tags egl -o .bin/holocast-node ./cmd/holocast-node
exec .bin/holocast-node "$@"
