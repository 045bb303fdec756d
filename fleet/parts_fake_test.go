//go:build !(egl && cgo)

package fleet_test

import (
	"github.com/holocast/holocast/encoder/encodertest"
	"github.com/holocast/holocast/node"
	"github.com/holocast/holocast/render/rendertest"
)

// realParts tells that nodes render with GL and encode with the
// compiled-in encoder, so that their streams decode.
const realParts = false

// withParts gives cfg the pure-Go renderer and fake encoder.
func withParts(cfg node.Config) node.Config {
	cfg.Renderers = &rendertest.Factory{}
	cfg.Encoders = encodertest.FakeFactory
	return cfg
}
