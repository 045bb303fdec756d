# syntax=docker/dockerfile:1
# holocast-node: a render node (GL on EGL, libyuv, libx264), for deploy/base/node.yaml.
# Build from the repository root:
#   docker build -f deploy/images/holocast-node.Dockerfile -t ghcr.io/holocast/holocast-node .
#
# CPU rendering uses Mesa's llvmpipe through EGL (--egl-platform surfaceless,
# the default). GPU variant (deploy/overlays/gpu): the same image runs on an
# NVIDIA GPU with --egl-platform=device when the NVIDIA container toolkit
# mounts the driver's EGL library; libglvnd (libegl1) dispatches to it through
# the vendor file the toolkit adds, which it does only with the "graphics"
# driver capability set below. No CUDA image is needed.

FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libx264-dev libyuv-dev libegl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -tags egl -o /out/holocast-node ./cmd/holocast-node

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libx264-164 libyuv0 libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 65532 --home-dir /var/lib/holocast --create-home holocast
COPY --from=build /out/holocast-node /usr/local/bin/holocast-node
# The manifests mount the root file system read-only: no shader cache.
ENV MESA_SHADER_CACHE_DISABLE=true \
    NVIDIA_DRIVER_CAPABILITIES=graphics,utility
USER 65532:65532
WORKDIR /var/lib/holocast
EXPOSE 8443/tcp 50000/udp 50000/tcp 9464/tcp
ENTRYPOINT ["/usr/local/bin/holocast-node"]
