// Package headset is a Go client of the Holocast wire contract: it does what
// a headset does — offers a WebRTC session to a node (WHEP-style POST),
// sends poses on the unordered "pose" channel, exchanges control messages,
// receives the H.264 track, reassembles access units and matches each to
// the FrameInfo the node sent for it. Tests and holocast-bench use it as a
// simulated headset.
package headset

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
)

// Defaults of Options.
const (
	defaultJitterWait   = 100 * time.Millisecond
	defaultMatchTimeout = time.Second
	defaultFrameBuffer  = 256
	// controlBuffer is the capacity of the Control channel.
	controlBuffer = 64
)

// Options configures Dial.
type Options struct {
	// API builds the peer connection; nil means a default one with
	// H.264 and pion's default interceptors (NACK, reports, TWCC).
	API *webrtc.API
	// HTTPClient posts the offer; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Token, if set, is sent as "Authorization: Bearer TOKEN" on the POST
	// that creates the session and the DELETE that ends it: the node's
	// token or a JWT (see package auth).
	Token string
	// ICEServers are the STUN/TURN servers of the peer connection. nil
	// asks the node: an OPTIONS request on the sessions URL (with Token)
	// whose Link rel="ice-server" headers name them, with the node's TURN
	// credentials (package signaling/link); a node that names none leaves
	// the client with host candidates only.
	ICEServers []webrtc.ICEServer
	// ICETransportPolicy is the peer connection's; set
	// webrtc.ICETransportPolicyRelay to connect through TURN only.
	ICETransportPolicy webrtc.ICETransportPolicy
	// NoDataChannels offers video only, as a plain WHEP viewer would.
	NoDataChannels bool
	// JitterWait is how long a missing packet is waited for before its
	// frame is given up; 0 means 100 ms.
	JitterWait time.Duration
	// MatchTimeout is how long a frame waits for its FrameInfo; 0 means 1 s.
	MatchTimeout time.Duration
	// FrameBuffer is the capacity of the Frames channel; 0 means 256. When
	// it is full, new frames are dropped and counted.
	FrameBuffer int
	// Now is the client's clock: packet arrival times, FrameInfo matching
	// and the pose sample times of Client.Now all read it. nil means
	// time.Now. It is called from several goroutines at once. Timers (the
	// NACK interval) stay on the real clock.
	Now func() time.Time
}

// withDefaults returns o with its zero fields set to their defaults.
func (o Options) withDefaults() Options {
	if o.JitterWait <= 0 {
		o.JitterWait = defaultJitterWait
	}
	if o.MatchTimeout <= 0 {
		o.MatchTimeout = defaultMatchTimeout
	}
	if o.FrameBuffer <= 0 {
		o.FrameBuffer = defaultFrameBuffer
	}
	return o
}

// Stats counts what the client received.
type Stats struct {
	FramesReceived  uint64 // complete frames delivered on Frames()
	FramesLost      uint64 // frames given up because of lost packets
	FramesDropped   uint64 // frames dropped waiting for a key frame, or because Frames() was full
	FramesUnmatched uint64 // frames delivered without FrameInfo
	KeyFrames       uint64 // complete frames that hold an IDR picture
	PLIsSent        uint64 // key frames asked for after a loss (RequestKeyFrame not counted)
	Bytes           uint64 // access unit bytes of complete frames
	Notices         uint64 // Notice control messages from the node
	// PacketsRecovered counts RTP packets that arrived after later ones
	// and filled the gap in time (a NACK retransmission, or reordering).
	PacketsRecovered uint64
	// PacketsGivenUp counts missing RTP packets that never came within
	// Options.JitterWait.
	PacketsGivenUp uint64
}

// Client is a connected simulated headset.
type Client struct {
	opts     Options
	http     *http.Client
	location string
	pc       *webrtc.PeerConnection
	pose     *webrtc.DataChannel
	control  *webrtc.DataChannel
	epoch    time.Time

	frames   chan *Frame
	controls chan *holocastv1.ControlMessage
	open     chan struct{} // closed when the control channel is open
	gotInfo  chan struct{} // closed when the first SessionInfo arrived
	infoOnce sync.Once
	trackCh  chan *webrtc.TrackRemote
	done     chan struct{} // closed by Close

	mu      sync.Mutex
	matcher matcher
	info    *holocastv1.SessionInfo
	// framesClosed and controlsClosed are set (under mu) when Close has
	// closed frames and controls.
	framesClosed, controlsClosed bool
	closeOnce                    sync.Once
	wg                           sync.WaitGroup
	stats                        struct {
		received, lost, dropped, unmatched, keys, plis, bytes, notices atomic.Uint64
		recovered, givenUp                                             atomic.Uint64
	}
}

// Dial offers a session to the node whose signaling endpoint is
// sessionsURL (e.g. "https://host:8443/v1/sessions") and returns once the
// answer is applied. Frames start arriving on Frames() when ICE connects.
func Dial(ctx context.Context, sessionsURL string, opts Options) (*Client, error) {
	opts = opts.withDefaults()
	api := opts.API
	if api == nil {
		var err error
		if api, err = NewAPI(nil); err != nil {
			return nil, err
		}
	}
	c := newClient(opts)
	servers := opts.ICEServers
	if servers == nil {
		var err error
		if servers, err = c.iceServers(ctx, sessionsURL); err != nil {
			return nil, err
		}
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: servers, ICETransportPolicy: opts.ICETransportPolicy})
	if err != nil {
		return nil, fmt.Errorf("headset: new peer connection: %w", err)
	}
	c.pc = pc
	if err := c.setup(ctx, sessionsURL); err != nil {
		_ = pc.Close()
		return nil, err
	}
	return c, nil
}

// newClient returns a client without a peer connection; opts has its
// defaults set.
func newClient(opts Options) *Client {
	c := &Client{
		opts:     opts,
		http:     opts.HTTPClient,
		frames:   make(chan *Frame, opts.FrameBuffer),
		controls: make(chan *holocastv1.ControlMessage, controlBuffer),
		open:     make(chan struct{}),
		gotInfo:  make(chan struct{}),
		trackCh:  make(chan *webrtc.TrackRemote, 1),
		done:     make(chan struct{}),
	}
	c.epoch = c.now()
	if c.http == nil {
		c.http = http.DefaultClient
	}
	c.matcher.timeout = opts.MatchTimeout
	return c
}

// setup adds the video transceiver and the data channels to the peer
// connection, negotiates the session with the node and starts reading
// video.
func (c *Client) setup(ctx context.Context, sessionsURL string) error {
	if err := c.addVideo(); err != nil {
		return err
	}
	if !c.opts.NoDataChannels {
		if err := c.openChannels(); err != nil {
			return err
		}
	}
	if err := c.negotiate(ctx, sessionsURL); err != nil {
		return err
	}
	c.wg.Add(1)
	go c.readVideo()
	return nil
}

// now reads the client's clock, Options.Now.
func (c *Client) now() time.Time {
	if c.opts.Now != nil {
		return c.opts.Now()
	}
	return time.Now()
}

// Now returns the client's clock in microseconds, the value to put in
// Pose.sample_time_us.
func (c *Client) Now() int64 { return c.now().Sub(c.epoch).Microseconds() }

// ClockAt returns t (a time of the client's clock, Options.Now) in the
// microseconds of Client.Now.
func (c *Client) ClockAt(t time.Time) int64 { return t.Sub(c.epoch).Microseconds() }

// PeerConnection exposes the underlying connection (for stats).
func (c *Client) PeerConnection() *webrtc.PeerConnection { return c.pc }

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	s := &c.stats
	return Stats{
		FramesReceived: s.received.Load(), FramesLost: s.lost.Load(), FramesDropped: s.dropped.Load(),
		FramesUnmatched: s.unmatched.Load(), KeyFrames: s.keys.Load(), PLIsSent: s.plis.Load(),
		Bytes: s.bytes.Load(), Notices: s.notices.Load(),
		PacketsRecovered: s.recovered.Load(), PacketsGivenUp: s.givenUp.Load(),
	}
}

// Close ends the session at the node (DELETE on its Location, bounded by
// ctx) and closes the peer connection. It is idempotent.
func (c *Client) Close(ctx context.Context) error {
	var err error
	c.closeOnce.Do(func() {
		err = c.deleteSession(ctx)
		close(c.done)
		err = errors.Join(err, c.pc.Close())
		c.wg.Wait()
		c.closeFrames()
		c.closeControls()
	})
	return err
}
