//go:build !(egl && cgo)

package node_test

import (
	"github.com/holocast/holocast/encoder/encodertest"
	"github.com/holocast/holocast/node"
	"github.com/holocast/holocast/render/rendertest"
)

// realParts says the tests run on real EGL rendering and the compiled-in
// H.264 back-end; in this build (no cgo or no egl tag) they run on the
// pure-Go renderer and encoder instead.
const realParts = false

// withParts gives cfg the pure-Go renderer and fake encoder unless it has
// its own.
func withParts(cfg node.Config) node.Config {
	if cfg.Renderers == nil {
		cfg.Renderers = &rendertest.Factory{}
	}
	if cfg.Encoders.New == nil {
		cfg.Encoders = encodertest.FakeFactory
	}
	return cfg
}
