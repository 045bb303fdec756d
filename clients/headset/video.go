package headset

import (
	"errors"
	"fmt"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
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
	// FirstPacket is when the frame's first packet arrived, Received when
	// the frame was whole and every frame before it too: when its last
	// packet arrived, or a repair (of it or of an earlier frame, which a
	// decoder needs first) that came later (client clock).
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

// Frames delivers complete, matched frames in order. It is closed by Close.
func (c *Client) Frames() <-chan *Frame { return c.frames }

// addVideo adds the receive-only video transceiver and hands the node's
// track to readVideo when it arrives.
func (c *Client) addVideo() error {
	if _, err := c.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		return fmt.Errorf("headset: add transceiver: %w", err)
	}
	c.pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		select {
		case c.trackCh <- t:
		default:
		}
	})
	return nil
}

// readVideo waits for the video track and turns its RTP packets into
// frames until the track ends. It runs in its own goroutine.
func (c *Client) readVideo() {
	defer c.wg.Done()
	var track *webrtc.TrackRemote
	select {
	case track = <-c.trackCh:
	case <-c.done:
		return
	}
	asm := newAssembler(c.opts.JitterWait, c.onFrame, func() {
		c.stats.plis.Add(1)
		_ = c.sendPLI(track.SSRC())
	})
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		asm.push(pkt, c.now())
		c.updatePacketStats(asm)
	}
}

// onFrame counts a complete frame from the assembler and hands it to the
// matcher.
func (c *Client) onFrame(f *Frame) {
	c.stats.bytes.Add(uint64(len(f.Data)))
	if f.KeyFrame {
		c.stats.keys.Add(1)
	}
	c.mu.Lock()
	c.deliverLocked(c.matcher.addFrame(f, c.now()))
	c.mu.Unlock()
}

// updatePacketStats copies the assembler's loss and recovery counters
// into the client's.
func (c *Client) updatePacketStats(asm *assembler) {
	c.stats.lost.Store(asm.lostCount)
	c.stats.recovered.Store(asm.recovered)
	c.stats.givenUp.Store(asm.givenUp)
	c.stats.dropped.Store(asm.dropped + c.matcherDropped())
}

// matcherDropped is the number of frames dropped because Frames() was full.
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

// closeFrames delivers the frames still waiting for their FrameInfo and
// closes Frames(); later deliveries are discarded.
func (c *Client) closeFrames() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deliverLocked(c.matcher.flush())
	c.framesClosed = true
	close(c.frames)
}

// RequestKeyFrame sends a Picture Loss Indication for the video track, as
// a decoder that lost its reference would. It fails before the track has
// arrived.
func (c *Client) RequestKeyFrame() error {
	for _, r := range c.pc.GetReceivers() {
		if t := r.Track(); t != nil && t.Kind() == webrtc.RTPCodecTypeVideo {
			return c.sendPLI(t.SSRC())
		}
	}
	return errors.New("headset: no video track yet")
}

// sendPLI asks the node for a key frame of the stream ssrc.
func (c *Client) sendPLI(ssrc webrtc.SSRC) error {
	return c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(ssrc)}})
}
