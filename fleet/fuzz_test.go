package fleet

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	fleetv1 "github.com/holocast/holocast/proto/fleetv1"
	"github.com/holocast/holocast/signaling"
)

// FuzzParseLocation: a session id from a URL either parses into a valid
// node id and a session id that SessionLocation joins back, or is refused.
func FuzzParseLocation(f *testing.F) {
	for _, s := range []string{"node-1.abc123", "a.b.c", ".x", "x.", "n/a.b", strings.Repeat("n", 65) + ".s", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		node, sess, ok := parseLocation(id)
		if !ok {
			return
		}
		if CheckName("node id", node) != nil || sess == "" || strings.Contains(node, ".") {
			t.Fatalf("parseLocation(%q) = %q, %q", id, node, sess)
		}
		if got := SessionLocation(node, sess); got != signaling.SessionsPath+"/"+id {
			t.Fatalf("SessionLocation(%q, %q) = %q, want the path of %q", node, sess, got, id)
		}
	})
}

// refusingBackend refuses every offer as full.
type refusingBackend struct{}

func (refusingBackend) Offer(context.Context, signaling.OfferRequest) (signaling.OfferAnswer, error) {
	return signaling.OfferAnswer{}, signaling.ErrSessionLimit
}
func (refusingBackend) End(string, [sha256.Size]byte) bool { return false }
func (refusingBackend) Ready() error                       { return nil }
func (refusingBackend) Sessions() int                      { return 0 }

// FuzzAgentAnswer: whatever bytes arrive as an offer, the agent answers
// with a refusal (these bytes never make a session) and never panics.
func FuzzAgentAnswer(f *testing.F) {
	good, _ := proto.Marshal(&fleetv1.PlacementOffer{Sdp: "v=0\r\n", ClientAddr: "192.0.2.1:1", CredentialSha256: make([]byte, 32)})
	f.Add(good)
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Add([]byte{})
	a := &Agent{b: refusingBackend{}, opts: AgentOptions{ID: "n", OfferTimeout: time.Second}, ctx: context.Background()}
	f.Fuzz(func(t *testing.T, data []byte) {
		ans := a.answer(data)
		r := ans.GetRefusal()
		if r == nil || r.GetNodeId() != "n" || r.GetMessage() == "" {
			t.Fatalf("answer = %v, want a refusal from n", ans)
		}
		var off fleetv1.PlacementOffer
		if proto.Unmarshal(data, &off) != nil && r.GetReason() != fleetv1.Refusal_REASON_BAD_OFFER {
			t.Fatalf("undecodable offer refused as %v", r.GetReason())
		}
	})
}

// FuzzRegistryUpdate: any NodeState bytes leave the registry listing only
// nodes with valid ids.
func FuzzRegistryUpdate(f *testing.F) {
	st, _ := proto.Marshal(&fleetv1.NodeState{Id: "a", Sessions: 1, Capacity: 4, TtlMs: 3000})
	f.Add(st)
	f.Add([]byte{0x0a, 0x03, 'a', '.', 'b'})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newRegistry(time.Now)
		var s fleetv1.NodeState
		if proto.Unmarshal(data, &s) != nil {
			return
		}
		r.update(&s)
		for _, n := range r.list() {
			if err := CheckName("node id", n.GetId()); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestRefusalReasons(t *testing.T) {
	tests := []struct {
		err  error
		want fleetv1.Refusal_Reason
	}{
		{signaling.ErrSessionLimit, fleetv1.Refusal_REASON_BUSY},
		{signaling.ErrNegotiationLimit, fleetv1.Refusal_REASON_BUSY},
		{signaling.ErrDraining, fleetv1.Refusal_REASON_DRAINING},
		{signaling.ErrShuttingDown, fleetv1.Refusal_REASON_SHUTTING_DOWN},
		{signaling.ErrClientLimit, fleetv1.Refusal_REASON_CLIENT_LIMIT},
		{signaling.ErrBadOffer, fleetv1.Refusal_REASON_BAD_OFFER},
		{signaling.ErrNotFound, fleetv1.Refusal_REASON_NOT_FOUND},
		{errors.New("gl lost"), fleetv1.Refusal_REASON_INTERNAL},
	}
	for _, tt := range tests {
		r := refusal("n", tt.err).GetRefusal()
		if r.GetReason() != tt.want || r.GetRetryAfterS() != uint32(signaling.RetryAfter(tt.err)) { //nolint:gosec // G115: small
			t.Errorf("%v: %v retry %d, want %v", tt.err, r.GetReason(), r.GetRetryAfterS(), tt.want)
		}
		if code, _ := refusalStatus(r); code != signaling.StatusCode(tt.err) && tt.want != fleetv1.Refusal_REASON_BUSY && tt.want != fleetv1.Refusal_REASON_DRAINING && tt.want != fleetv1.Refusal_REASON_SHUTTING_DOWN {
			t.Errorf("%v: gateway status %d, node's %d", tt.err, code, signaling.StatusCode(tt.err))
		}
	}
}

func TestRegistryExpires(t *testing.T) {
	now := time.Unix(1000, 0)
	r := newRegistry(func() time.Time { return now })
	r.update(&fleetv1.NodeState{Id: "a", TtlMs: 3000})
	r.update(&fleetv1.NodeState{Id: "b", TtlMs: 1000})
	r.update(&fleetv1.NodeState{Id: "bad.id", TtlMs: 3000})
	if got := len(r.list()); got != 2 {
		t.Fatalf("%d nodes, want a and b", got)
	}
	now = now.Add(2 * time.Second)
	if l := r.list(); len(l) != 1 || l[0].GetId() != "a" {
		t.Fatalf("after 2 s: %v, want only a", l)
	}
	r.update(&fleetv1.NodeState{Id: "a", Gone: true})
	if l := r.list(); len(l) != 0 {
		t.Fatalf("after a's goodbye: %v", l)
	}
}

func TestSanitizeName(t *testing.T) {
	for in, want := range map[string]string{
		"render-7":              "render-7",
		"gpu-host.example.org":  "gpu-host-example-org",
		"":                      "node",
		"...":                   "node",
		strings.Repeat("a", 70): strings.Repeat("a", 64),
		"node_1 (lab)":          "node_1--lab",
	} {
		got := SanitizeName(in)
		if got != want || CheckName("node id", got) != nil {
			t.Errorf("SanitizeName(%q) = %q, want %q (a valid id)", in, got, want)
		}
	}
}
