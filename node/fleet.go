package node

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/holocast/holocast/fleet"
	"github.com/holocast/holocast/signaling"
)

// joinFleet connects to Config.NATS and starts the node's fleet agent
// (package fleet); without Config.NATS it does nothing.
func (n *Node) joinFleet() error {
	if n.cfg.NATS == "" {
		return nil
	}
	opts := n.cfg.Fleet
	if opts.ID == "" {
		host, _ := os.Hostname()
		opts.ID = fleet.SanitizeName(host)
	}
	if opts.Capacity == 0 {
		opts.Capacity = n.cfg.MaxSessions
	}
	if opts.Renderer == "" {
		opts.Renderer = n.RendererName()
		opts.GPU = opts.GPU || isGPU(opts.Renderer)
	}
	if len(opts.Scenes) == 0 {
		// The node's scenes (every valid scene name can be placed).
		for _, in := range n.SceneList() {
			if fleet.CheckScene("scene", in.Name) == nil {
				opts.Scenes = append(opts.Scenes, in.Name)
			}
		}
	}
	if opts.Version == "" {
		opts.Version = version()
	}
	if opts.PublicAddress == "" && len(n.cfg.NAT1To1IPs) > 0 {
		opts.PublicAddress = n.cfg.NAT1To1IPs[0]
	}
	if opts.Logger == nil {
		opts.Logger = n.cfg.Logger
	}
	if err := fleet.CheckName("node id", opts.ID); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	nopts := append([]nats.Option{
		nats.Name("holocast-node " + opts.ID), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second),
	}, opts.NATSOptions...)
	nc, err := nats.Connect(n.cfg.NATS, nopts...)
	if err != nil {
		return fmt.Errorf("node: NATS %s: %w", n.cfg.NATS, err)
	}
	a, err := fleet.StartAgent(nc, fleetBackend{n}, opts)
	if err != nil {
		nc.Close()
		return fmt.Errorf("node: %w", err)
	}
	n.nc, n.fleet = nc, a
	return nil
}

// leaveFleet stops the fleet agent (the node takes no more offers over
// NATS and tells the fleet it is gone) and closes the NATS connection.
func (n *Node) leaveFleet() error {
	if n.fleet == nil {
		return nil
	}
	err := n.fleet.Close()
	n.nc.Close()
	return err
}

// refreshFleet has the fleet agent look at the node's readiness now.
func (n *Node) refreshFleet() {
	if n.fleet != nil {
		n.fleet.Refresh()
	}
}

// FleetID is the node's id in its fleet; "" without Config.NATS.
func (n *Node) FleetID() string {
	if n.fleet == nil {
		return ""
	}
	return n.fleet.ID()
}

// fleetBackend is the node as its fleet agent sees it.
type fleetBackend struct{ n *Node }

var _ fleet.Backend = fleetBackend{}

func (b fleetBackend) Offer(ctx context.Context, req signaling.OfferRequest) (signaling.OfferAnswer, error) {
	return b.n.sig.Offer(ctx, req)
}
func (b fleetBackend) End(id string, cred [sha256.Size]byte) bool { return b.n.sig.End(id, cred) }
func (b fleetBackend) Ready() error                               { return b.n.sig.Ready() }
func (b fleetBackend) Sessions() int                              { return b.n.sig.Len() }

// isGPU guesses from a GL_RENDERER whether it is a GPU: Mesa's software
// rasterizers and the test renderer are not.
func isGPU(renderer string) bool {
	r := strings.ToLower(renderer)
	for _, sw := range []string{"llvmpipe", "softpipe", "swrast", "lavapipe", "rendertest", "software"} {
		if strings.Contains(r, sw) {
			return false
		}
	}
	return r != ""
}

// version is the module version the binary was built from.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "unknown"
}
