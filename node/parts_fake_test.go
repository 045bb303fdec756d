//go:build !(egl && cgo)

package node_test

import (
	"github.com/holocast/holocast/encoder/encodertest"
	"github.com/holocast/holocast/node"
	"github.com/holocast/holocast/render/rendertest"
)

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
