// Package fleet runs Holocast render nodes as one fleet behind a gateway,
// with NATS carrying placement and node state (subjects and messages in
// proto/fleet.proto; the architecture in docs/fleet.md).
//
// A node runs an Agent: it takes offers as a NATS service on a queue
// group, so that NATS spreads them among the nodes listening, and it
// listens only while it has room and is not draining; it ends its
// sessions on request and publishes its state as heartbeats that expire.
// The Gateway serves the WHEP contract of a node (package signaling) at
// one address: it forwards each offer to the fleet, tries another node
// when one answers busy, and reaches the owning node for DELETE through
// the node's id encoded in the session's Location. Media flow directly
// between headset and node; the gateway keeps no session state.
package fleet

import (
	"fmt"
	"regexp"
	"strings"
)

// NATS subjects and the queue group of a fleet.
const (
	// SubjectOffer takes PlacementOffers for the default scene.
	SubjectOffer = "holocast.fleet.offer"
	// QueueGroup is the queue group nodes take offers in: NATS gives each
	// offer to one listening node.
	QueueGroup = "holocast-nodes"
	// SubjectStatePoll asks every node to publish its NodeState now.
	SubjectStatePoll = "holocast.fleet.state.poll"
	// subjectStatePrefix begins a node's state subject; see SubjectState.
	subjectStatePrefix = "holocast.fleet.state."
	// subjectNodePrefix begins the subjects of one node; see SubjectDelete.
	subjectNodePrefix = "holocast.fleet.node."
	// SubjectStateAll matches every node's state subject.
	SubjectStateAll = subjectStatePrefix + "*"
)

// SubjectSceneOffer takes PlacementOffers that ask for scene name (a
// valid one, CheckScene): its last token is SceneToken(name).
func SubjectSceneOffer(scene string) string { return SubjectOffer + ".scene." + SceneToken(scene) }

// SceneToken turns a scene name into one NATS subject token: every '.'
// (which separates tokens) becomes '~', which no scene name contains, so
// that distinct names have distinct tokens ("engine.v2" → "engine~v2").
func SceneToken(scene string) string { return strings.ReplaceAll(scene, ".", "~") }

// SubjectState carries the NodeState heartbeats of node id.
func SubjectState(id string) string { return subjectStatePrefix + id }

// SubjectDelete takes the SessionDelete requests for node id.
func SubjectDelete(id string) string { return subjectNodePrefix + id + ".delete" }

// nameRE is what node ids may be: one NATS subject token and one URL
// path segment without escaping (no '.', which separates a node id from a
// session id in a Location).
var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// sceneRE is what scene names may be: the rule of a node's scenes
// (render/scene.ValidName; a test keeps the two the same), which names
// come from file names.
var sceneRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// CheckName reports whether s may be a node id: 1 to 64 letters, digits,
// '-' and '_'.
func CheckName(kind, s string) error {
	if !nameRE.MatchString(s) {
		return fmt.Errorf("fleet: %s %q: want 1 to 64 of A-Z a-z 0-9 - _", kind, s)
	}
	return nil
}

// CheckScene reports whether s may be a scene name, as a node's scenes
// are named: 1 to 128 letters, digits, '.', '-' and '_', beginning with a
// letter or digit. Every such name can be placed (SubjectSceneOffer).
func CheckScene(kind, s string) error {
	if !sceneRE.MatchString(s) {
		return fmt.Errorf("fleet: %s %q: want 1 to 128 of A-Z a-z 0-9 . - _, beginning with a letter or digit", kind, s)
	}
	return nil
}

// SanitizeName turns s (a host name, say) into a valid node id: characters
// outside the allowed set become '-', and it is cut to 64.
func SanitizeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			b[i] = '-'
		}
	}
	s = strings.Trim(string(b), "-")
	if len(s) > 64 {
		s = s[:64]
	}
	if s == "" {
		s = "node"
	}
	return s
}
