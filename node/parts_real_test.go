//go:build egl && cgo

package node_test

import "github.com/holocast/holocast/node"

// realParts says the tests run on real EGL rendering and the compiled-in
// H.264 back-end.
const realParts = true

// withParts leaves cfg to the node's defaults: GL workers and the
// compiled-in encoder.
func withParts(cfg node.Config) node.Config { return cfg }
