package fleet

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/holocast/holocast/auth"
	fleetv1 "github.com/holocast/holocast/proto/fleetv1"
	"github.com/holocast/holocast/signaling"
)

// Defaults of AgentOptions.
const (
	// DefaultHeartbeat is how often a node publishes its state.
	DefaultHeartbeat = time.Second
	// TTLHeartbeats is how many heartbeats a state holds: a node whose
	// next state does not come within TTLHeartbeats × heartbeat is gone.
	TTLHeartbeats = 3
	// DefaultOfferTimeout bounds a node's answer to one offer.
	DefaultOfferTimeout = 10 * time.Second
	// checkInterval is how often an agent compares the node's readiness
	// with its subscription (a session's end is not announced).
	checkInterval = 100 * time.Millisecond
)

// Backend is what an Agent needs of its node: the session path of its
// signaling server (*signaling.Server has Offer and End) and its
// readiness.
type Backend interface {
	// Offer creates a session (signaling.Server.Offer).
	Offer(ctx context.Context, req signaling.OfferRequest) (signaling.OfferAnswer, error)
	// End ends a session created with the credential's fingerprint
	// (signaling.Server.End).
	End(id string, credential [sha256.Size]byte) bool
	// Ready is nil while the node takes sessions, else why not
	// (signaling.Server.Ready).
	Ready() error
	// Sessions is the number of live sessions.
	Sessions() int
}

// AgentOptions describes a node to its fleet.
type AgentOptions struct {
	// ID names the node in the fleet (CheckName); it must be unique.
	ID string
	// Capacity is the node's session cap (0: none), reported in its state.
	Capacity int
	// GPU tells that the node renders on a GPU.
	GPU bool
	// Renderer, Version and PublicAddress are reported in the node's state.
	Renderer, Version, PublicAddress string
	// Scenes are the scenes the node has beside its default (CheckScene):
	// it also takes offers on SubjectSceneOffer of each.
	Scenes []string
	// Heartbeat is how often the node publishes its state; 0 means
	// DefaultHeartbeat.
	Heartbeat time.Duration
	// OfferTimeout bounds the node's work on one offer; 0 means
	// DefaultOfferTimeout.
	OfferTimeout time.Duration
	// NATSOptions are added to the options of the NATS connection a node
	// opens for its agent (node.Config.NATS): credentials, TLS, a dialer.
	NATSOptions []nats.Option
	// Logger receives logs; nil means slog.Default().
	Logger *slog.Logger
}

// Agent is a node's membership in a fleet: it takes offers over NATS
// while the node has room, ends sessions on request, and publishes the
// node's state.
type Agent struct {
	nc   *nats.Conn
	b    Backend
	opts AgentOptions
	log  *slog.Logger

	ctx      context.Context // cancelled by Close: bounds offers in flight
	cancel   context.CancelFunc
	kick     chan struct{} // a reconcile wanted now
	loopDone chan struct{}
	handlers sync.WaitGroup // offers being answered

	mu        sync.Mutex
	offerSubs []*nats.Subscription // nil while not listening
	fixedSubs []*nats.Subscription // delete and poll, for the agent's life
	closed    bool
}

// StartAgent joins the node behind b to the fleet on nc. The agent runs
// until Close; nc stays the caller's.
func StartAgent(nc *nats.Conn, b Backend, opts AgentOptions) (*Agent, error) {
	if err := CheckName("node id", opts.ID); err != nil {
		return nil, err
	}
	for _, s := range opts.Scenes {
		if err := CheckScene("scene", s); err != nil {
			return nil, err
		}
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.OfferTimeout <= 0 {
		opts.OfferTimeout = DefaultOfferTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &Agent{
		nc: nc, b: b, opts: opts, log: opts.Logger.With("component", "fleet", "node_id", opts.ID),
		ctx: ctx, cancel: cancel, kick: make(chan struct{}, 1), loopDone: make(chan struct{}),
	}
	del, err := nc.Subscribe(SubjectDelete(opts.ID), a.handleDelete)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("fleet: subscribe %s: %w", SubjectDelete(opts.ID), err)
	}
	poll, err := nc.Subscribe(SubjectStatePoll, func(*nats.Msg) { a.Refresh() })
	if err != nil {
		_ = del.Unsubscribe()
		cancel()
		return nil, fmt.Errorf("fleet: subscribe %s: %w", SubjectStatePoll, err)
	}
	a.fixedSubs = []*nats.Subscription{del, poll}
	a.reconcile(true)
	go a.loop()
	a.log.Info("joined the fleet", "capacity", opts.Capacity, "scenes", opts.Scenes)
	return a, nil
}

// ID is the node's id in the fleet.
func (a *Agent) ID() string { return a.opts.ID }

// Refresh makes the agent compare the node's readiness with its
// subscription and publish its state now (after a drain began, say),
// rather than at its next check.
func (a *Agent) Refresh() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// loop reconciles every checkInterval and on Refresh, and publishes the
// state every heartbeat, until Close. A change of the session count alone
// waits for the next heartbeat: one message per node and heartbeat
// rather than one more per placement.
func (a *Agent) loop() {
	defer close(a.loopDone)
	check := time.NewTicker(checkInterval)
	defer check.Stop()
	beat := time.NewTicker(a.opts.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-check.C:
			a.reconcile(false)
		case <-a.kick:
			a.reconcile(true)
		case <-beat.C:
			a.reconcile(true)
		}
	}
}

// reconcile subscribes to offers while the node is ready and drains the
// subscriptions while it is not; it publishes the state when that changed
// or publish is set.
func (a *Agent) reconcile(publish bool) {
	ready := a.b.Ready() == nil
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	listening := a.offerSubs != nil
	switch {
	case ready && !listening:
		subjects := []string{SubjectOffer}
		for _, s := range a.opts.Scenes {
			subjects = append(subjects, SubjectSceneOffer(s))
		}
		for _, subj := range subjects {
			sub, err := a.nc.QueueSubscribe(subj, QueueGroup, a.handleOffer)
			if err != nil {
				a.log.Warn("cannot take offers", "subject", subj, "err", err)
				continue
			}
			a.offerSubs = append(a.offerSubs, sub)
		}
	case !ready && listening:
		a.stopOffersLocked()
	}
	changed := listening != (a.offerSubs != nil)
	a.mu.Unlock()
	if changed {
		a.log.Debug("offer subscription changed", "listening", !listening)
	}
	if publish || changed {
		a.publish(false)
	}
}

// stopOffersLocked stops taking offers. Drain rather than Unsubscribe:
// offers already delivered to the node are still answered (busy, at
// once) instead of being left to time out. a.mu must be held.
func (a *Agent) stopOffersLocked() {
	for _, sub := range a.offerSubs {
		_ = sub.Drain()
	}
	a.offerSubs = nil
}

// State is the node's state as its heartbeats publish it.
func (a *Agent) State() *fleetv1.NodeState {
	ready := a.b.Ready()
	a.mu.Lock()
	accepting := a.offerSubs != nil
	a.mu.Unlock()
	n := a.b.Sessions()
	st := &fleetv1.NodeState{
		Id: a.opts.ID, Sessions: uint32(n), Capacity: uint32(max(a.opts.Capacity, 0)), //nolint:gosec // G115: counts
		Accepting: accepting && ready == nil,
		Draining:  errors.Is(ready, signaling.ErrDraining) || errors.Is(ready, signaling.ErrShuttingDown),
		Gpu:       a.opts.GPU, Renderer: a.opts.Renderer, Version: a.opts.Version, PublicAddress: a.opts.PublicAddress,
		Scenes: a.opts.Scenes, TtlMs: uint32(TTLHeartbeats * a.opts.Heartbeat / time.Millisecond), //nolint:gosec // G115: a few seconds
	}
	if a.opts.Capacity > 0 {
		st.Load = float32(n) / float32(a.opts.Capacity)
	}
	return st
}

// publish sends the node's state; gone marks the last one.
func (a *Agent) publish(gone bool) {
	st := a.State()
	st.Gone = gone
	if gone {
		st.Accepting = false
	}
	b, err := proto.Marshal(st)
	if err == nil {
		err = a.nc.Publish(SubjectState(a.opts.ID), b)
	}
	if err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		a.log.Warn("cannot publish the node's state", "err", err)
	}
}

// handleOffer answers one PlacementOffer on its own goroutine, so that
// offers are negotiated side by side (the node's negotiation cap bounds
// how many).
func (a *Agent) handleOffer(m *nats.Msg) {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		a.reply(m, refusal(a.opts.ID, signaling.ErrShuttingDown))
		return
	}
	a.handlers.Add(1)
	a.mu.Unlock()
	go func() {
		defer a.handlers.Done()
		a.reply(m, a.answer(m.Data))
		// Full now, perhaps: stop listening at once (which is published
		// at once); the new session count goes out with the next
		// heartbeat.
		a.reconcile(false)
	}()
}

// answer turns one offer's bytes into the node's answer.
func (a *Agent) answer(data []byte) *fleetv1.PlacementAnswer {
	// A full or draining node says so at once, before any work.
	if err := a.b.Ready(); err != nil {
		return refusal(a.opts.ID, err)
	}
	var off fleetv1.PlacementOffer
	if err := proto.Unmarshal(data, &off); err != nil {
		return refusal(a.opts.ID, fmt.Errorf("%w: placement offer: %w", signaling.ErrBadOffer, err))
	}
	cred := auth.Fingerprint("")
	if len(off.GetCredentialSha256()) == sha256.Size {
		cred = [sha256.Size]byte(off.GetCredentialSha256())
	}
	ctx, cancel := context.WithTimeout(a.ctx, a.opts.OfferTimeout)
	defer cancel()
	ans, err := a.b.Offer(ctx, signaling.OfferRequest{
		Offer: off.GetSdp(), Grant: grantOf(off.GetGrant()), Credential: cred, RemoteAddr: off.GetClientAddr(), Scene: off.GetScene(),
	})
	if err != nil {
		return refusal(a.opts.ID, err)
	}
	placed := &fleetv1.Placed{Sdp: ans.Answer, SessionId: ans.ID, NodeId: a.opts.ID}
	for _, s := range ans.ICEServers {
		placed.IceServers = append(placed.IceServers, &fleetv1.IceServer{Url: s.URL, Username: s.Username, Credential: s.Credential})
	}
	return &fleetv1.PlacementAnswer{Result: &fleetv1.PlacementAnswer_Placed{Placed: placed}}
}

// handleDelete answers one SessionDelete.
func (a *Agent) handleDelete(m *nats.Msg) {
	var req fleetv1.SessionDelete
	ended := false
	if err := proto.Unmarshal(m.Data, &req); err == nil && len(req.GetCredentialSha256()) == sha256.Size {
		ended = a.b.End(req.GetSessionId(), [sha256.Size]byte(req.GetCredentialSha256()))
	}
	b, _ := proto.Marshal(&fleetv1.SessionDeleteReply{Ended: ended})
	_ = m.Respond(b)
	if ended {
		// Room again, perhaps: listen at once; the count goes out with
		// the next heartbeat.
		a.reconcile(false)
	}
}

func (a *Agent) reply(m *nats.Msg, ans *fleetv1.PlacementAnswer) {
	b, err := proto.Marshal(ans)
	if err == nil {
		err = m.Respond(b)
	}
	if err != nil {
		a.log.Warn("cannot answer an offer", "err", err)
	}
}

// Close stops taking offers, waits for the offers in flight, publishes
// that the node is gone and stops the agent. The node's sessions are not
// ended (that is the node's Close). It is idempotent.
func (a *Agent) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.stopOffersLocked()
	for _, sub := range a.fixedSubs {
		_ = sub.Unsubscribe()
	}
	a.mu.Unlock()
	a.cancel()
	<-a.loopDone
	a.handlers.Wait()
	a.publish(true)
	if err := a.nc.Flush(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("fleet: flush: %w", err)
	}
	a.log.Info("left the fleet")
	return nil
}

// refusal is the PlacementAnswer for an error of signaling.Server.Offer
// (or Ready).
func refusal(nodeID string, err error) *fleetv1.PlacementAnswer {
	reason := fleetv1.Refusal_REASON_INTERNAL
	switch {
	case errors.Is(err, signaling.ErrSessionLimit), errors.Is(err, signaling.ErrNegotiationLimit),
		errors.Is(err, signaling.ErrNoCandidates):
		// A node without a usable candidate for this offer is busy for
		// it: another node may have one.
		reason = fleetv1.Refusal_REASON_BUSY
	case errors.Is(err, signaling.ErrDraining):
		reason = fleetv1.Refusal_REASON_DRAINING
	case errors.Is(err, signaling.ErrShuttingDown):
		reason = fleetv1.Refusal_REASON_SHUTTING_DOWN
	case errors.Is(err, signaling.ErrClientLimit):
		reason = fleetv1.Refusal_REASON_CLIENT_LIMIT
	case errors.Is(err, signaling.ErrBadOffer):
		reason = fleetv1.Refusal_REASON_BAD_OFFER
	case errors.Is(err, signaling.ErrNotFound):
		reason = fleetv1.Refusal_REASON_NOT_FOUND
	}
	return &fleetv1.PlacementAnswer{Result: &fleetv1.PlacementAnswer_Refusal{Refusal: &fleetv1.Refusal{
		Reason: reason, Message: err.Error(), RetryAfterS: uint32(signaling.RetryAfter(err)), NodeId: nodeID, //nolint:gosec // G115: seconds
	}}}
}

// grantOf converts a Grant of the wire to auth's.
func grantOf(g *fleetv1.Grant) auth.Grant {
	return auth.Grant{
		Subject: g.GetSubject(), JWT: g.GetJwt(),
		MaxWidth: int(g.GetMaxWidth()), MaxHeight: int(g.GetMaxHeight()), MaxFPS: int(g.GetMaxFps()),
		MaxSession: time.Duration(g.GetMaxSessionS()) * time.Second,
	}
}

// wireGrant converts auth's Grant to the wire's.
func wireGrant(g auth.Grant) *fleetv1.Grant {
	u := func(v int) uint32 { return uint32(max(min(v, 1<<30), 0)) } //nolint:gosec // G115: clamped
	return &fleetv1.Grant{
		Subject: g.Subject, Jwt: g.JWT, MaxWidth: u(g.MaxWidth), MaxHeight: u(g.MaxHeight), MaxFps: u(g.MaxFPS),
		MaxSessionS: u(int(g.MaxSession / time.Second)),
	}
}
