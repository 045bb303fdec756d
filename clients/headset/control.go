package headset

import (
	"context"
	"fmt"
	"sync"

	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/proto/wire"
)

// openChannels creates the pose and control data channels of the wire
// contract and wires up the control channel's handlers.
func (c *Client) openChannels() error {
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
	return nil
}

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

// SendPose sends one pose on the unordered pose channel (wire.PoseLabel).
func (c *Client) SendPose(p *holocastv1.Pose) error {
	b, err := proto.Marshal(p)
	if err != nil {
		return fmt.Errorf("headset: marshal pose: %w", err)
	}
	return send(c.pose, b)
}

// SendRawPose sends arbitrary bytes on the pose channel (for robustness tests).
func (c *Client) SendRawPose(b []byte) error { return send(c.pose, b) }

// SendControl sends one message on the control channel (wire.ControlLabel).
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

// Control delivers the control messages other than FrameInfo (SessionInfo,
// Notice, Pong). When nobody reads, they are dropped. Close closes the
// channel, so a reader can range over it.
func (c *Client) Control() <-chan *holocastv1.ControlMessage { return c.controls }

// SessionInfo returns the newest SessionInfo from the node, or nil.
func (c *Client) SessionInfo() *holocastv1.SessionInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.info
}

// onControl handles one message from the node: a FrameInfo goes to the
// matcher, a Ping is answered with a Pong, and the others (SessionInfo,
// Notice, a Pong of ours) are recorded and offered on Control().
// Undecodable messages are ignored.
func (c *Client) onControl(m webrtc.DataChannelMessage) {
	var msg holocastv1.ControlMessage
	if err := proto.Unmarshal(m.Data, &msg); err != nil {
		return
	}
	switch v := msg.Message.(type) {
	case *holocastv1.ControlMessage_FrameInfo:
		c.onFrameInfo(v.FrameInfo)
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
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.controlsClosed {
		return // a callback still running after Close
	}
	select {
	case c.controls <- &msg:
	default:
	}
}

// closeControls closes Control(); later messages are discarded.
func (c *Client) closeControls() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.controlsClosed = true
	close(c.controls)
}

// onFrameInfo pairs a FrameInfo with its frame and delivers the frames
// that are ready.
func (c *Client) onFrameInfo(info *holocastv1.FrameInfo) {
	c.mu.Lock()
	c.deliverLocked(c.matcher.addInfo(info, c.now()))
	c.mu.Unlock()
}
