//go:build egl && cgo

package node_test

import "github.com/holocast/holocast/node"

// withParts leaves cfg to the node's defaults: GL workers and the
// compiled-in encoder.
func withParts(cfg node.Config) node.Config { return cfg }
