package fleet

import (
	"slices"
	"sync"
	"time"

	fleetv1 "github.com/holocast/holocast/proto/fleetv1"
)

// registry is a gateway's view of the fleet: the last state of every node
// whose heartbeats have not expired. It is soft state, rebuilt from
// heartbeats within one of them (a gateway asks for them at start), so
// the gateway stays stateless.
type registry struct {
	now   func() time.Time
	mu    sync.Mutex
	nodes map[string]known
}

type known struct {
	state   *fleetv1.NodeState
	expires time.Time
}

func newRegistry(now func() time.Time) *registry {
	return &registry{now: now, nodes: map[string]known{}}
}

// update records a heartbeat; a state marked gone removes its node.
func (r *registry) update(st *fleetv1.NodeState) {
	if CheckName("node id", st.GetId()) != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if st.GetGone() {
		delete(r.nodes, st.GetId())
		return
	}
	ttl := time.Duration(st.GetTtlMs()) * time.Millisecond
	if ttl <= 0 || ttl > time.Minute {
		ttl = TTLHeartbeats * DefaultHeartbeat
	}
	r.nodes[st.GetId()] = known{state: st, expires: r.now().Add(ttl)}
}

// list returns the live nodes sorted by id, forgetting expired ones.
func (r *registry) list() []*fleetv1.NodeState {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	out := make([]*fleetv1.NodeState, 0, len(r.nodes))
	for id, k := range r.nodes {
		if now.After(k.expires) {
			delete(r.nodes, id)
			continue
		}
		out = append(out, k.state)
	}
	slices.SortFunc(out, func(a, b *fleetv1.NodeState) int {
		switch {
		case a.GetId() < b.GetId():
			return -1
		case a.GetId() > b.GetId():
			return 1
		}
		return 0
	})
	return out
}
