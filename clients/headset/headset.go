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
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/proto/wire"
)

// Frame is one received video frame.
type Frame struct {
	// RTPTimestamp names the frame; FrameInfo.rtp_timestamp matches it.
	RTPTimestamp uint32
	// Data is the access unit in Annex-B form.
	Data []byte
	// KeyFrame tells whether Data holds an IDR picture.
	KeyFrame bool
	// Packets is the number of RTP packets the frame came in.
	Packets int
	// FirstPacket and Received are when the first and the last packet of
	// the frame arrived (client clock).
	FirstPacket, Received time.Time
	// Info is the node's FrameInfo for this frame; nil if it did not
	// arrive within Options.MatchTimeout.
	Info *holocastv1.FrameInfo
}

// PoseToFrame is the time from sampling the pose the frame was rendered for
// to receiving the frame's last packet, on the client's clock; ok is false
// when the frame has no FrameInfo or was rendered before any pose arrived.
func (c *Client) PoseToFrame(f *Frame) (d time.Duration, ok bool) {
	if f.Info == nil || f.Info.GetPoseSeq() == 0 {
		return 0, false
	}
	sampled := c.epoch.Add(time.Duration(f.Info.GetPoseSampleTimeUs()) * time.Microsecond)
	return f.Received.Sub(sampled), true
}

// Options configures Dial.
type Options struct {
	// API builds the peer connection; nil means a default one with
	// H.264 and pion's default interceptors (NACK, reports, TWCC).
	API *webrtc.API
	// HTTPClient posts the offer; nil means http.DefaultClient.
	HTTPClient *http.Client
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
}

// Stats counts what the client received.
type Stats struct {
	FramesReceived  uint64 // complete frames delivered on Frames()
	FramesLost      uint64 // frames given up because of lost packets
	FramesDropped   uint64 // frames dropped waiting for a key frame, or because Frames() was full
	FramesUnmatched uint64 // frames delivered without FrameInfo
	KeyFrames       uint64
	PLIsSent        uint64
	Bytes           uint64
	Notices         uint64
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

	mu       sync.Mutex
	matcher  matcher
	info     *holocastv1.SessionInfo
	lastNote string
	// framesClosed is set (under mu) when Close has closed frames.
	framesClosed bool
	closeOnce    sync.Once
	wg           sync.WaitGroup
	stats        struct {
		received, lost, dropped, unmatched, keys, plis, bytes, notices atomic.Uint64
		recovered, givenUp                                             atomic.Uint64
	}
}

// nackInterval is how often the headset's NACK generator reports missing
// packets.
const nackInterval = 20 * time.Millisecond

// NewAPI returns the WebRTC API a headset uses by default. se may be nil;
// pass one to run over a virtual network.
func NewAPI(se *webrtc.SettingEngine) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := wire.RegisterH264(m, wire.H264Formats[0]); err != nil {
		return nil, fmt.Errorf("headset: %w", err)
	}
	ir := &interceptor.Registry{}
	// NACK missing packets every 20 ms rather than pion's default 100 ms:
	// with a 100 ms interval a retransmission typically arrives just as the
	// assembler's JitterWait (100 ms) gives the frame up. Browsers NACK on
	// detecting the gap.
	if err := webrtc.RegisterDefaultInterceptorsWithOptions(m, ir,
		webrtc.WithNackGeneratorOptions(nack.GeneratorInterval(nackInterval))); err != nil {
		return nil, fmt.Errorf("headset: interceptors: %w", err)
	}
	opts := []func(*webrtc.API){webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir)}
	if se != nil {
		opts = append(opts, webrtc.WithSettingEngine(*se))
	}
	return webrtc.NewAPI(opts...), nil
}

// Dial offers a session to the node whose signaling endpoint is
// sessionsURL (e.g. "https://host:8443/v1/sessions") and returns once the
// answer is applied. Frames start arriving on Frames() when ICE connects.
func Dial(ctx context.Context, sessionsURL string, opts Options) (*Client, error) {
	if opts.JitterWait <= 0 {
		opts.JitterWait = 100 * time.Millisecond
	}
	if opts.MatchTimeout <= 0 {
		opts.MatchTimeout = time.Second
	}
	if opts.FrameBuffer <= 0 {
		opts.FrameBuffer = 256
	}
	api := opts.API
	if api == nil {
		var err error
		if api, err = NewAPI(nil); err != nil {
			return nil, err
		}
	}
	c := &Client{
		opts: opts, http: opts.HTTPClient, epoch: time.Now(),
		frames:   make(chan *Frame, opts.FrameBuffer),
		controls: make(chan *holocastv1.ControlMessage, 64),
		open:     make(chan struct{}),
		gotInfo:  make(chan struct{}),
		trackCh:  make(chan *webrtc.TrackRemote, 1),
		done:     make(chan struct{}),
	}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	c.matcher.timeout = opts.MatchTimeout
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
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

func (c *Client) setup(ctx context.Context, sessionsURL string) error {
	if _, err := c.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		return fmt.Errorf("headset: add transceiver: %w", err)
	}
	if !c.opts.NoDataChannels {
		var err error
		if c.pose, err = c.pc.CreateDataChannel(wire.PoseLabel, wire.PoseChannelInit()); err != nil {
			return fmt.Errorf("headset: pose channel: %w", err)
		}
		if c.control, err = c.pc.CreateDataChannel(wire.ControlLabel, nil); err != nil {
			return fmt.Errorf("headset: control channel: %w", err)
		}
		var once sync.Once
		c.control.OnOpen(func() { once.Do(func() { close(c.open) }) })
		c.control.OnMessage(c.onControl)
	}
	c.pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		select {
		case c.trackCh <- t:
		default:
		}
	})
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("headset: create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("headset: set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fmt.Errorf("headset: gathering: %w", ctx.Err())
	}
	answer, loc, err := c.post(ctx, sessionsURL, c.pc.LocalDescription().SDP)
	if err != nil {
		return err
	}
	c.location = loc
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("headset: set answer: %w", err)
	}
	c.wg.Add(1)
	go c.readVideo()
	return nil
}

// SignalingError is a non-2xx answer from the node's signaling endpoint.
type SignalingError struct {
	Status  int
	Message string
}

func (e *SignalingError) Error() string {
	return fmt.Sprintf("headset: signaling: %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

func (c *Client) post(ctx context.Context, sessionsURL, offer string) (answer, location string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sessionsURL, strings.NewReader(offer))
	if err != nil {
		return "", "", fmt.Errorf("headset: %w", err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("headset: post offer: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", "", fmt.Errorf("headset: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return "", "", &SignalingError{Status: resp.StatusCode, Message: strings.TrimSpace(string(body))}
	}
	base, err := url.Parse(sessionsURL)
	if err != nil {
		return "", "", fmt.Errorf("headset: %w", err)
	}
	loc, err := base.Parse(resp.Header.Get("Location"))
	if err != nil || resp.Header.Get("Location") == "" {
		return "", "", fmt.Errorf("headset: answer without a valid Location")
	}
	return string(body), loc.String(), nil
}

// Location is the session's URL (DELETE ends it).
func (c *Client) Location() string { return c.location }

// PeerConnection exposes the underlying connection (for stats).
func (c *Client) PeerConnection() *webrtc.PeerConnection { return c.pc }

// Now returns the client's clock in microseconds, the value to put in
// Pose.sample_time_us.
func (c *Client) Now() int64 { return time.Since(c.epoch).Microseconds() }

// WaitControl waits until the control channel is open and the node's
// first SessionInfo (which the wire contract has it send when the channel
// opens) has arrived, so that SessionInfo() is set when it returns.
func (c *Client) WaitControl(ctx context.Context) error {
	for _, ch := range []chan struct{}{c.open, c.gotInfo} {
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("headset: waiting for control channel and session info: %w", ctx.Err())
		}
	}
	return nil
}

// ErrNoChannels is returned when sending on a client dialled with
// NoDataChannels, or before the channel is open.
var ErrNoChannels = errors.New("headset: data channel not available")

// SendPose sends one pose on the unordered "pose" channel.
func (c *Client) SendPose(p *holocastv1.Pose) error {
	b, err := proto.Marshal(p)
	if err != nil {
		return fmt.Errorf("headset: marshal pose: %w", err)
	}
	return send(c.pose, b)
}

// SendRawPose sends arbitrary bytes on the pose channel (for robustness tests).
func (c *Client) SendRawPose(b []byte) error { return send(c.pose, b) }

// SendControl sends one message on the "control" channel.
func (c *Client) SendControl(m *holocastv1.ControlMessage) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("headset: marshal control: %w", err)
	}
	return send(c.control, b)
}

// send writes one message on dc, which must exist and be open.
func send(dc *webrtc.DataChannel, b []byte) error {
	if dc == nil || dc.ReadyState() != webrtc.DataChannelStateOpen {
		return ErrNoChannels
	}
	return dc.Send(b)
}

// Frames delivers complete, matched frames in order. It is closed by Close.
func (c *Client) Frames() <-chan *Frame { return c.frames }

// Control delivers the control messages other than FrameInfo (SessionInfo,
// Notice, Pong). When nobody reads, they are dropped.
func (c *Client) Control() <-chan *holocastv1.ControlMessage { return c.controls }

// SessionInfo returns the newest SessionInfo from the node, or nil.
func (c *Client) SessionInfo() *holocastv1.SessionInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.info
}

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

func (c *Client) onControl(m webrtc.DataChannelMessage) {
	var msg holocastv1.ControlMessage
	if err := proto.Unmarshal(m.Data, &msg); err != nil {
		return
	}
	switch v := msg.Message.(type) {
	case *holocastv1.ControlMessage_FrameInfo:
		c.mu.Lock()
		c.deliverLocked(c.matcher.addInfo(v.FrameInfo, time.Now()))
		c.mu.Unlock()
		return
	case *holocastv1.ControlMessage_Ping:
		_ = c.SendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_Pong{Pong: &holocastv1.Pong{Id: v.Ping.GetId(), TimeUs: v.Ping.GetTimeUs()}}})
		return
	case *holocastv1.ControlMessage_SessionInfo:
		c.mu.Lock()
		c.info = v.SessionInfo
		c.mu.Unlock()
		c.infoOnce.Do(func() { close(c.gotInfo) })
	case *holocastv1.ControlMessage_Notice:
		c.stats.notices.Add(1)
	}
	select {
	case c.controls <- &msg:
	default:
	}
}

func (c *Client) readVideo() {
	defer c.wg.Done()
	var track *webrtc.TrackRemote
	select {
	case track = <-c.trackCh:
	case <-c.done:
		return
	}
	asm := newAssembler(c.opts.JitterWait, func(f *Frame) {
		c.stats.bytes.Add(uint64(len(f.Data)))
		if f.KeyFrame {
			c.stats.keys.Add(1)
		}
		c.mu.Lock()
		c.deliverLocked(c.matcher.addFrame(f, time.Now()))
		c.mu.Unlock()
	}, func() {
		c.stats.plis.Add(1)
		_ = c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(track.SSRC())}})
	})
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			break
		}
		asm.push(pkt, time.Now())
		c.stats.lost.Store(asm.lostCount)
		c.stats.recovered.Store(asm.recovered)
		c.stats.givenUp.Store(asm.givenUp)
		c.stats.dropped.Store(asm.dropped + c.matcherDropped())
	}
}

func (c *Client) matcherDropped() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.matcher.full
}

// deliverLocked hands frames to Frames(); c.mu is held. After Close has
// closed the channel, late frames (a FrameInfo callback still running in
// the peer connection) are discarded instead of sent on a closed channel.
func (c *Client) deliverLocked(frames []*Frame) {
	if c.framesClosed {
		return
	}
	for _, f := range frames {
		if f.Info == nil {
			c.stats.unmatched.Add(1)
		}
		select {
		case c.frames <- f:
			c.stats.received.Add(1)
		default:
			c.matcher.full++
		}
	}
}

// RequestKeyFrame sends a Picture Loss Indication for the video track, as
// a decoder that lost its reference would. It fails before the track has
// arrived.
func (c *Client) RequestKeyFrame() error {
	for _, r := range c.pc.GetReceivers() {
		if t := r.Track(); t != nil && t.Kind() == webrtc.RTPCodecTypeVideo {
			return c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
		}
	}
	return errors.New("headset: no video track yet")
}

// Close ends the session at the node (DELETE on its Location, bounded by
// ctx) and closes the peer connection. It is idempotent.
func (c *Client) Close(ctx context.Context) error {
	var err error
	c.closeOnce.Do(func() {
		if c.location != "" {
			req, rerr := http.NewRequestWithContext(ctx, http.MethodDelete, c.location, http.NoBody)
			if rerr == nil {
				resp, derr := c.http.Do(req)
				if derr != nil {
					err = fmt.Errorf("headset: delete session: %w", derr)
				} else {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}
		close(c.done)
		err = errors.Join(err, c.pc.Close())
		c.wg.Wait()
		c.mu.Lock()
		c.deliverLocked(c.matcher.flush())
		c.framesClosed = true
		close(c.frames)
		c.mu.Unlock()
	})
	return err
}
