package node_test

import (
	"context"
	"strings"
	"testing"

	"github.com/holocast/holocast/fleet"
	"github.com/holocast/holocast/node"
)

// TestFleetConfigErrors: a node that cannot join its fleet does not
// start, and says why.
func TestFleetConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  node.Config
		want string
	}{
		{"unreachable NATS", node.Config{NATS: "nats://127.0.0.1:1", Fleet: fleet.AgentOptions{ID: "a"}}, "NATS nats://127.0.0.1:1"},
		{"bad node id", node.Config{NATS: "nats://127.0.0.1:1", Fleet: fleet.AgentOptions{ID: "a.b"}}, "node id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := node.New(context.Background(), withParts(tt.cfg))
			if err == nil {
				_ = n.Close()
				t.Fatal("node.New succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
