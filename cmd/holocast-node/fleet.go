package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/holocast/holocast/fleet"
	"github.com/holocast/holocast/node"
)

// fleetFlags are the flags that join the node to a fleet over NATS.
type fleetFlags struct {
	url, creds, id, scenes string
	gpu                    bool
}

func addFleetFlags(fs *flag.FlagSet) *fleetFlags {
	f := &fleetFlags{}
	fs.StringVar(&f.url, "nats", "", "join a fleet: take sessions placed by holocast-gateway through the NATS server at this `URL` (e.g. nats://nats:4222), besides HTTP")
	fs.StringVar(&f.creds, "nats-creds", "", "NATS credentials `file` (user JWT and NKey seed) for --nats")
	fs.StringVar(&f.id, "node-id", "", "the node's `id` in the fleet (letters, digits, - and _); default: the host name")
	fs.StringVar(&f.scenes, "scenes", "", "comma-separated scene `names` the node offers to the fleet (--nats); default: every scene it has (--scene)")
	fs.BoolVar(&f.gpu, "gpu", false, "report the node as GPU-backed to the fleet (default: guessed from the GL renderer)")
	return f
}

// apply checks the flags and fills cfg.
func (f *fleetFlags) apply(cfg *node.Config) error {
	if f.url == "" {
		if f.creds != "" || f.id != "" || f.scenes != "" {
			return fmt.Errorf("--nats-creds, --node-id and --scenes need --nats")
		}
		return nil
	}
	cfg.NATS = f.url
	if f.id != "" {
		if err := fleet.CheckName("--node-id", f.id); err != nil {
			return err
		}
		cfg.Fleet.ID = f.id
	}
	if f.scenes != "" {
		for _, s := range strings.Split(f.scenes, ",") {
			if err := fleet.CheckScene("--scenes", s); err != nil {
				return err
			}
			cfg.Fleet.Scenes = append(cfg.Fleet.Scenes, s)
		}
	}
	cfg.Fleet.GPU = f.gpu
	if f.creds != "" {
		cfg.Fleet.NATSOptions = append(cfg.Fleet.NATSOptions, nats.UserCredentials(f.creds))
	}
	return nil
}
