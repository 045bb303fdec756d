# syntax=docker/dockerfile:1
# holocast-gateway: the fleet's front door, for deploy/base/gateway.yaml.
# Pure Go (no cgo). Build from the repository root:
#   docker build -f deploy/images/holocast-gateway.Dockerfile -t ghcr.io/holocast/holocast-gateway .

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/holocast-gateway ./cmd/holocast-gateway

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 65532 --no-create-home holocast
COPY --from=build /out/holocast-gateway /usr/local/bin/holocast-gateway
USER 65532:65532
EXPOSE 8080/tcp 9465/tcp
ENTRYPOINT ["/usr/local/bin/holocast-gateway"]
