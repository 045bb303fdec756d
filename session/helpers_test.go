package session

// Shared helpers of the session tests: a pion virtual network, a bare pion
// peer that plays the headset, recording render and encode factories, and
// a harness that connects a Session to the headset over the virtual
// network. Everything is pure Go (no cgo, GL or x264).

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/encoder/encodertest"
	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/proto/wire"
	"github.com/holocast/holocast/proto/wire/h264"
	"github.com/holocast/holocast/render"
	"github.com/holocast/holocast/render/rendertest"
)

// waitLong bounds every wait for something the session should do: far
// above what it takes even on a slow, shared 2-core machine under -race,
// so that a test fails only when the thing never happens.
const waitLong = 20 * time.Second

// waitFor polls cond until it holds, failing the test with what after
// waitLong.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	waitForWithin(t, waitLong, what, cond)
}

// waitForWithin is waitFor with its own deadline.
func waitForWithin(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitClosed waits for ch to be closed, failing the test after d.
func waitClosed(t testing.TB, d time.Duration, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}

// quietPion keeps pion's own logs to errors.
func quietPion() logging.LoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelError
	return f
}

// testNet is a pion virtual network with one router and two interfaces,
// the node's and the headset's. Cut drops every packet from then on, as
// if the headset had vanished.
type testNet struct {
	router        *vnet.Router
	node, headset *vnet.Net
	cut           atomic.Bool
}

func newTestNet(t testing.TB) *testNet {
	t.Helper()
	r, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.78.0.0/24", LoggerFactory: quietPion()})
	if err != nil {
		t.Fatal(err)
	}
	n := &testNet{router: r}
	r.AddChunkFilter(func(vnet.Chunk) bool { return !n.cut.Load() })
	for _, nic := range []struct {
		dst **vnet.Net
		ip  string
	}{{&n.node, "10.78.0.1"}, {&n.headset, "10.78.0.2"}} {
		if *nic.dst, err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{nic.ip}}); err != nil {
			t.Fatal(err)
		}
		if err := r.AddNet(*nic.dst); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *testNet) stop() { _ = n.router.Stop() }

// iceTimeouts are a peer's ICE disconnected and failed timeouts; zero
// keeps pion's defaults (5 s and 25 s).
type iceTimeouts struct{ disconnected, failed time.Duration }

// shortICE makes a silent peer count as gone within 3 s.
var shortICE = iceTimeouts{disconnected: time.Second, failed: 2 * time.Second}

// settingEngine runs a peer over nw with the given ICE timeouts.
func settingEngine(nw *vnet.Net, to iceTimeouts) webrtc.SettingEngine {
	se := webrtc.SettingEngine{LoggerFactory: quietPion()}
	se.SetNet(nw)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	if to.disconnected > 0 {
		se.SetICETimeouts(to.disconnected, to.failed, to.disconnected/4)
	}
	return se
}

// newAPI builds a WebRTC API as the node and the headset do: the
// contract's H.264 formats and pion's default interceptors (NACK, RTCP
// reports, TWCC feedback).
func newAPI(t testing.TB, se webrtc.SettingEngine, formats ...wire.H264Format) *webrtc.API {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := wire.RegisterH264(m, formats...); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		t.Fatal(err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// rxFrame is one access unit the headset received.
type rxFrame struct {
	ts   uint32
	data []byte // Annex-B
	key  bool
}

// luma is the first luma byte of the rendered picture that the fake
// encoder writes into each NAL unit (OR 1, see encodertest.Fake): the
// byte after the start code, the NAL header and 4 sequence bytes.
func (f rxFrame) luma() (byte, bool) {
	if len(f.data) < 10 {
		return 0, false
	}
	return f.data[9], true
}

// headsetPeer is a bare pion peer that does what a headset does: it
// offers a receive-only video track and the pose and control channels,
// records the frames and control messages it receives, and answers pings.
type headsetPeer struct {
	t           testing.TB
	pc          *webrtc.PeerConnection
	pose        *webrtc.DataChannel
	control     *webrtc.DataChannel
	poseOpen    chan struct{}
	controlOpen chan struct{}
	ssrc        atomic.Uint32 // of the node's video track, 0 before it arrives

	mu       sync.Mutex
	frames   []rxFrame
	infos    []*holocastv1.FrameInfo
	sessions []*holocastv1.SessionInfo
	notices  []string
}

// newHeadsetPeer makes the headset's peer connection on nw and returns it
// with its complete offer (all candidates gathered).
func newHeadsetPeer(t testing.TB, nw *vnet.Net, to iceTimeouts, noDataChannels bool) (*headsetPeer, string) {
	t.Helper()
	api := newAPI(t, settingEngine(nw, to), wire.H264Formats[0])
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	h := &headsetPeer{t: t, pc: pc, poseOpen: make(chan struct{}), controlOpen: make(chan struct{})}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { h.readVideo(tr) })
	if noDataChannels {
		return h, h.offer()
	}
	if h.pose, err = pc.CreateDataChannel(wire.PoseLabel, wire.PoseChannelInit()); err != nil {
		t.Fatal(err)
	}
	if h.control, err = pc.CreateDataChannel(wire.ControlLabel, nil); err != nil {
		t.Fatal(err)
	}
	var poseOnce, controlOnce sync.Once
	h.pose.OnOpen(func() { poseOnce.Do(func() { close(h.poseOpen) }) })
	h.control.OnOpen(func() { controlOnce.Do(func() { close(h.controlOpen) }) })
	h.control.OnMessage(h.onControl)
	return h, h.offer()
}

// offer makes the headset's complete offer (all candidates gathered).
func (h *headsetPeer) offer() string {
	h.t.Helper()
	offer, err := h.pc.CreateOffer(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(h.pc)
	if err := h.pc.SetLocalDescription(offer); err != nil {
		h.t.Fatal(err)
	}
	waitClosed(h.t, waitLong, "the headset's ICE gathering", gathered)
	return h.pc.LocalDescription().SDP
}

// accept applies the node's answer.
func (h *headsetPeer) accept(answer string) {
	h.t.Helper()
	if err := h.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		h.t.Fatal(err)
	}
}

// readVideo reassembles the node's RTP packets into access units until the
// track ends (it runs in the goroutine pion starts for OnTrack).
func (h *headsetPeer) readVideo(tr *webrtc.TrackRemote) {
	h.ssrc.Store(uint32(tr.SSRC()))
	var depack codecs.H264Packet
	var cur []byte
	var curTS uint32
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if len(cur) > 0 && pkt.Timestamp != curTS {
			cur = cur[:0] // the previous frame lost its last packet
		}
		curTS = pkt.Timestamp
		nal, err := depack.Unmarshal(pkt.Payload)
		if err != nil {
			continue
		}
		cur = append(cur, nal...)
		if pkt.Marker && len(cur) > 0 {
			f := rxFrame{ts: curTS, data: bytes.Clone(cur), key: h264.IsKeyFrame(cur)}
			cur = cur[:0]
			h.mu.Lock()
			h.frames = append(h.frames, f)
			h.mu.Unlock()
		}
	}
}

func (h *headsetPeer) onControl(m webrtc.DataChannelMessage) {
	var msg holocastv1.ControlMessage
	if err := proto.Unmarshal(m.Data, &msg); err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch v := msg.Message.(type) {
	case *holocastv1.ControlMessage_FrameInfo:
		h.infos = append(h.infos, v.FrameInfo)
	case *holocastv1.ControlMessage_SessionInfo:
		h.sessions = append(h.sessions, v.SessionInfo)
	case *holocastv1.ControlMessage_Notice:
		h.notices = append(h.notices, v.Notice.GetMessage())
	case *holocastv1.ControlMessage_Ping:
		b, _ := proto.Marshal(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_Pong{
			Pong: &holocastv1.Pong{Id: v.Ping.GetId(), TimeUs: v.Ping.GetTimeUs()}}})
		_ = h.control.Send(b)
	}
}

// Snapshots of what the headset received.

func (h *headsetPeer) receivedFrames() []rxFrame {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]rxFrame(nil), h.frames...)
}

func (h *headsetPeer) frameInfos() []*holocastv1.FrameInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*holocastv1.FrameInfo(nil), h.infos...)
}

func (h *headsetPeer) sessionInfos() []*holocastv1.SessionInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*holocastv1.SessionInfo(nil), h.sessions...)
}

func (h *headsetPeer) noticeTexts() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.notices...)
}

// frameByTS returns the received frame with RTP timestamp ts.
func (h *headsetPeer) frameByTS(ts uint32) (rxFrame, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.frames) - 1; i >= 0; i-- {
		if h.frames[i].ts == ts {
			return h.frames[i], true
		}
	}
	return rxFrame{}, false
}

// lastInfo returns the newest FrameInfo, or nil.
func (h *headsetPeer) lastInfo() *holocastv1.FrameInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.infos) == 0 {
		return nil
	}
	return h.infos[len(h.infos)-1]
}

// waitInfo waits for a FrameInfo with frame_id at least id and returns the
// first such.
func (h *headsetPeer) waitInfo(id uint64) *holocastv1.FrameInfo {
	h.t.Helper()
	var got *holocastv1.FrameInfo
	waitFor(h.t, fmt.Sprintf("FrameInfo of frame %d", id), func() bool {
		for _, fi := range h.frameInfos() {
			if fi.GetFrameId() >= id {
				got = fi
				return true
			}
		}
		return false
	})
	return got
}

// waitReady waits until both channels are open and the node's first
// SessionInfo has arrived.
func (h *headsetPeer) waitReady() {
	h.t.Helper()
	waitClosed(h.t, waitLong, "the control channel to open", h.controlOpen)
	waitClosed(h.t, waitLong, "the pose channel to open", h.poseOpen)
	waitFor(h.t, "the first SessionInfo", func() bool { return len(h.sessionInfos()) > 0 })
}

// sendPose sends one binary message on the pose channel.
func (h *headsetPeer) sendPose(b []byte) {
	h.t.Helper()
	if err := h.pose.Send(b); err != nil {
		h.t.Fatalf("send pose: %v", err)
	}
}

// sendControl sends one control message.
func (h *headsetPeer) sendControl(m *holocastv1.ControlMessage) {
	h.t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.control.Send(b); err != nil {
		h.t.Fatalf("send control: %v", err)
	}
}

// requestKeyFrame sends a PLI or, with fir, a FIR (sequence number seq)
// for the node's video track, as a decoder that lost its reference does.
func (h *headsetPeer) requestKeyFrame(fir bool, seq uint8) {
	h.t.Helper()
	ssrc := h.ssrc.Load()
	if ssrc == 0 {
		h.t.Fatal("no video track yet")
	}
	var p rtcp.Packet = &rtcp.PictureLossIndication{MediaSSRC: ssrc}
	if fir {
		p = &rtcp.FullIntraRequest{MediaSSRC: ssrc, FIR: []rtcp.FIREntry{{SSRC: ssrc, SequenceNumber: seq}}}
	}
	if err := h.pc.WriteRTCP([]rtcp.Packet{p}); err != nil {
		h.t.Fatalf("write RTCP: %v", err)
	}
}

// testEncoder is a fake encoder that records its Close.
type testEncoder struct {
	*encodertest.Fake
	closed atomic.Bool
}

func (e *testEncoder) Close() error {
	e.closed.Store(true)
	return e.Fake.Close()
}

// encoders makes fake encoders (encodertest.Fake) and remembers them.
type encoders struct {
	// keyFrameInterval, if positive, overrides the encoders' periodic key
	// frame interval, so that every key frame after the first is forced.
	keyFrameInterval int

	mu   sync.Mutex
	made []*testEncoder
}

func (r *encoders) factory() encoder.Factory {
	return encoder.Factory{Name: encodertest.FakeName, New: func(cfg encoder.Config) (encoder.Encoder, error) {
		if r.keyFrameInterval > 0 {
			cfg.KeyFrameInterval = r.keyFrameInterval
		}
		f, err := encodertest.NewFake(cfg)
		if err != nil {
			return nil, err
		}
		e := &testEncoder{Fake: f}
		r.mu.Lock()
		r.made = append(r.made, e)
		r.mu.Unlock()
		return e, nil
	}}
}

// all returns the encoders made so far, oldest first.
func (r *encoders) all() []*testEncoder {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*testEncoder(nil), r.made...)
}

// last returns the newest encoder, or nil.
func (r *encoders) last() *testEncoder {
	all := r.all()
	if len(all) == 0 {
		return nil
	}
	return all[len(all)-1]
}

// open counts the encoders not closed.
func (r *encoders) open() int {
	n := 0
	for _, e := range r.all() {
		if !e.closed.Load() {
			n++
		}
	}
	return n
}

// fixedRenderers makes rendertest Renderers that cannot be resized (they
// hide render.Resizer), so that a size change must rebuild the pipeline.
type fixedRenderers struct{ *rendertest.Factory }

func (f fixedRenderers) NewRenderer(w, h int) (render.Renderer, error) {
	r, err := f.Factory.NewRenderer(w, h)
	if err != nil {
		return nil, err
	}
	return struct{ render.Renderer }{r}, nil
}

// stubBandwidth is a BandwidthEstimator whose target the test sets.
type stubBandwidth struct{ target atomic.Int64 }

func (b *stubBandwidth) GetTargetBitrate() int { return int(b.target.Load()) }

// syncBuffer collects a session's logs for failure reports.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testOutput is the initial output of test sessions: small, so that the
// fake parts cost little.
func testOutput() Output {
	return Output{Width: 256, Height: 128, FPS: 30, Device: render.DefaultDevice(128, 128)}
}

// testConfig is the session configuration of the tests.
func testConfig() Config {
	return Config{
		ID:             "test-session",
		Output:         testOutput(),
		Limits:         Limits{MaxWidth: 640, MaxHeight: 480, MaxFPS: 60},
		BitRate:        2_000_000,
		MinBitRate:     300_000,
		Predictor:      "none",
		ConnectTimeout: waitLong,
	}
}

// harnessOptions shape a test session.
type harnessOptions struct {
	// cfg changes the session's Config from testConfig.
	cfg func(*Config)
	// fixedSize hides render.Resizer from the renderers (fixedRenderers;
	// harness.renderers still records them).
	fixedSize bool
	// bandwidth, if set, is returned by Deps.Bandwidth.
	bandwidth BandwidthEstimator
	// keyFrameInterval is passed to the encoders (see encoders).
	keyFrameInterval int
	// nodeICE and headsetICE are the two peers' ICE timeouts.
	nodeICE, headsetICE iceTimeouts
	// noAnswer leaves the headset without the node's answer, so that the
	// peers never connect.
	noAnswer bool
	// noDataChannels offers video only, as a plain WHEP viewer does.
	noDataChannels bool
	// worker, if set, renders for the session (with the other sessions
	// it renders for) instead of a renderer factory of its own.
	worker *sharedWorker
	// nodeSetting, if set, changes the node's setting engine.
	nodeSetting func(*webrtc.SettingEngine)
	// answer, if set, changes the node's answer before the headset
	// applies it (as a client that ignores what the node advertises).
	answer func(string) string
	// deps, if set, changes the session's Deps (hooks).
	deps func(*Deps)
}

// harness is a Session connected to a headsetPeer over a virtual network.
type harness struct {
	t         testing.TB
	net       *testNet
	s         *Session
	hs        *headsetPeer
	cfg       Config
	renderers *rendertest.Factory
	encoders  *encoders
	onClose   atomic.Int32
	logs      *syncBuffer
}

// startSession creates a session from the headset's offer over a fresh
// virtual network, hands the headset the answer, and registers a cleanup
// that closes the session, the headset and the network. Register goleak's
// check before calling it, so that it runs after this cleanup.
func startSession(t testing.TB, o harnessOptions) *harness {
	t.Helper()
	h := &harness{t: t, net: newTestNet(t), renderers: &rendertest.Factory{}, encoders: &encoders{keyFrameInterval: o.keyFrameInterval}, logs: &syncBuffer{}}
	t.Cleanup(h.net.stop)
	h.cfg = testConfig()
	if o.cfg != nil {
		o.cfg(&h.cfg)
	}
	hs, offer := newHeadsetPeer(t, h.net.headset, o.headsetICE, o.noDataChannels)
	h.hs = hs
	t.Cleanup(func() { _ = hs.pc.Close() })

	var rf render.Factory = h.renderers
	if o.fixedSize {
		rf = fixedRenderers{h.renderers}
	}
	if o.worker != nil {
		h.renderers, rf = o.worker.renderers, o.worker
	}
	se := settingEngine(h.net.node, o.nodeICE)
	if o.nodeSetting != nil {
		o.nodeSetting(&se)
	}
	deps := Deps{
		API:       newAPI(t, se),
		Renderers: rf,
		Encoders:  h.encoders.factory(),
		Logger:    slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnClose:   func(*Session) { h.onClose.Add(1) },
	}
	if o.bandwidth != nil {
		deps.Bandwidth = func() BandwidthEstimator { return o.bandwidth }
	}
	if o.deps != nil {
		o.deps(&deps)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	s, err := New(ctx, offer, h.cfg, deps)
	if err != nil {
		t.Fatalf("session.New: %v", err)
	}
	h.s = s
	t.Cleanup(func() {
		_ = s.Close()
		if t.Failed() {
			t.Logf("session logs:\n%s", h.logs.String())
		}
	})
	if !o.noAnswer {
		answer := s.Answer()
		if o.answer != nil {
			answer = o.answer(answer)
		}
		hs.accept(answer)
	}
	return h
}

// waitStreaming waits until the control channel is up and FrameInfos flow.
func (h *harness) waitStreaming() {
	h.t.Helper()
	h.hs.waitReady()
	waitFor(h.t, "the first FrameInfo", func() bool { return h.hs.lastInfo() != nil })
}

// nextFrameID returns an id such that the frame with that id (and every
// later one) started after this call: the frame after the one that may be
// in progress now: one may be in the encoder and one rendering or
// waiting for it. Frame ids count frames sent, as FramesSent does.
func (h *harness) nextFrameID() uint64 {
	return h.s.Stats().FramesSent + 3
}

// waitFrames waits until the session has sent n more frames.
func (h *harness) waitFrames(n uint64) {
	h.t.Helper()
	want := h.s.Stats().FramesSent + n
	waitFor(h.t, fmt.Sprintf("%d more frames", n), func() bool { return h.s.Stats().FramesSent >= want })
}

// approx reports whether a and b differ by at most tol in every component.
func approx(tol float64, a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i])-float64(b[i])) > tol {
			return false
		}
	}
	return true
}

// sharedWorker stands for a node's GL worker shared by its sessions: it
// makes rendertest renderers and lets one frame render at a time.
type sharedWorker struct {
	renderers *rendertest.Factory
	mu        sync.Mutex
}

func newSharedWorker() *sharedWorker { return &sharedWorker{renderers: &rendertest.Factory{}} }

// NewRenderer implements render.Factory.
func (w *sharedWorker) NewRenderer(width, height int) (render.Renderer, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, err := w.renderers.NewRenderer(width, height)
	if err != nil {
		return nil, err
	}
	return &workerRenderer{r: r.(*rendertest.Renderer), w: w}, nil
}

// Name implements render.Factory.
func (w *sharedWorker) Name() string { return w.renderers.Name() }

// workerRenderer renders, resizes and closes on its sharedWorker.
type workerRenderer struct {
	r *rendertest.Renderer
	w *sharedWorker
}

func (r *workerRenderer) Render(v render.StereoViews) (*render.Frame, error) {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	return r.r.Render(v)
}

func (r *workerRenderer) SetSize(width, height int) error {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	return r.r.SetSize(width, height)
}

func (r *workerRenderer) Close() error {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	return r.r.Close()
}
