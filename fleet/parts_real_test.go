//go:build egl && cgo

package fleet_test

import "github.com/holocast/holocast/node"

// realParts tells that nodes render with GL and encode with the
// compiled-in encoder, so that their streams decode.
const realParts = true

// withParts leaves cfg to the node's defaults: GL workers and the
// compiled-in encoder.
func withParts(cfg node.Config) node.Config { return cfg }
