# Holocast developer tasks. Every Go command builds with -tags egl so that
# go-gl links libEGL only (no libGL/GLX).
GO ?= go
TAGS ?= egl
PROTOC_GEN_GO_VERSION := v1.36.12
BIN := $(CURDIR)/.bin

.PHONY: all build test lint proto node web

all: build

build:
	$(GO) build -tags '$(TAGS)' ./...

test:
	bash scripts/test.sh

lint:
	bash scripts/lint.sh

node:
	bash scripts/run-node.sh

# proto regenerates the committed Go code from proto/holocast.proto and
# proto/fleet.proto with a
# pinned protoc-gen-go (Debian protobuf-compiler provides protoc).
proto:
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	protoc --plugin=protoc-gen-go=$(BIN)/protoc-gen-go -I proto \
		--go_out=proto/holocastv1 --go_opt=paths=source_relative proto/holocast.proto
	protoc --plugin=protoc-gen-go=$(BIN)/protoc-gen-go -I proto \
		--go_out=proto/fleetv1 --go_opt=paths=source_relative proto/fleet.proto

# web rebuilds the browser client: the protobuf code generated from
# proto/holocast.proto and the esbuild bundle clients/web/static/app.js that
# the node embeds, with the npm versions pinned in package-lock.json.
web:
	cd clients/web && npm ci --no-audit --no-fund && npm run -s gen && node build.mjs
