package session

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/pion/rtcp"
	"google.golang.org/protobuf/proto"

	"github.com/holocast/holocast/pose"
	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/proto/wire"
)

// MaxControlMessage bounds one message on the control channel.
const MaxControlMessage = 16 << 10

// maxControlBuffered is how much may wait unsent on the control channel
// before the node stops queueing FrameInfo (a stalled client must not make
// the node buffer without bound).
const maxControlBuffered = 1 << 20

func isKeyFrameRequest(p rtcp.Packet) bool {
	switch p.(type) {
	case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
		return true
	}
	return false
}

func (s *Session) onControl(b []byte) {
	if len(b) > MaxControlMessage {
		s.stats.badControl.Add(1)
		s.notice(fmt.Sprintf("control message of %d bytes too large (at most %d)", len(b), MaxControlMessage))
		return
	}
	var m holocastv1.ControlMessage
	if err := proto.Unmarshal(b, &m); err != nil {
		s.stats.badControl.Add(1)
		s.notice("malformed control message: " + err.Error())
		return
	}
	switch msg := m.Message.(type) {
	case *holocastv1.ControlMessage_DeviceConfig:
		s.mu.Lock()
		out, err := applyDeviceConfig(s.output, msg.DeviceConfig, s.cfg.Limits)
		// A change of size or rate not yet applied (see
		// Config.RebuildInterval) that this config replaces by another.
		superseded := err == nil && !sameFormat(s.output, s.renderingFor) && !sameFormat(out, s.output)
		if err == nil {
			s.output = out
		}
		s.mu.Unlock()
		if err != nil {
			s.stats.badControl.Add(1)
			s.notice(err.Error())
			return
		}
		if superseded {
			n := s.stats.deviceConfigsSuperseded.Add(1)
			if now := s.cfg.Now(); every(&s.stats.lastSupersededNotice, now, time.Second) {
				err := fmt.Errorf("%w by a newer one before it was applied (%d so far): the pipeline is rebuilt at most every %v, for the newest config",
					ErrDeviceConfigSuperseded, n, s.cfg.RebuildInterval)
				s.log.Info("device config superseded", "err", err)
				s.notice(err.Error())
			}
		}
		lvl := slog.LevelInfo
		if superseded {
			lvl = slog.LevelDebug
		}
		s.log.Log(context.Background(), lvl, "device config", "name", msg.DeviceConfig.GetDeviceName(), "width", out.Width, "height", out.Height, "fps", out.FPS, "ipd", out.Device.IPD)
		s.sendSessionInfo()
	case *holocastv1.ControlMessage_ClientReport:
		r := msg.ClientReport
		s.latencyMu.Lock()
		if r.GetMotionToPhotonUs() > 0 {
			s.latency.ObserveClientReport(time.Duration(r.GetMotionToPhotonUs()) * time.Microsecond)
		}
		if r.GetDisplayDelayUs() > 0 {
			s.latency.ObserveDisplayDelay(time.Duration(r.GetDisplayDelayUs()) * time.Microsecond)
		}
		s.latencyMu.Unlock()
		if r.GetMotionToPhotonUs() > 0 && s.deps.OnClientReport != nil {
			s.deps.OnClientReport(s, time.Duration(r.GetMotionToPhotonUs())*time.Microsecond)
		}
	case *holocastv1.ControlMessage_Ping:
		s.sendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_Pong{
			Pong: &holocastv1.Pong{Id: msg.Ping.GetId(), TimeUs: msg.Ping.GetTimeUs()}}})
	case *holocastv1.ControlMessage_Pong:
		rtt := s.sinceStart() - time.Duration(msg.Pong.GetTimeUs())*time.Microsecond
		if rtt >= 0 && rtt < 10*time.Second {
			s.latencyMu.Lock()
			s.latency.ObserveRTT(rtt)
			s.latencyMu.Unlock()
			s.stats.rttUS.Store(rtt.Microseconds())
		}
	case *holocastv1.ControlMessage_DisplayTiming:
		s.onDisplayTiming(msg.DisplayTiming)
	case *holocastv1.ControlMessage_SelectScene:
		s.onSelectScene(msg.SelectScene)
	case *holocastv1.ControlMessage_ModelTransform:
		s.onModelTransform(msg.ModelTransform)
	default:
		s.notice("unexpected control message")
	}
}

func (s *Session) sinceStart() time.Duration { return s.cfg.Now().Sub(s.start) }

func (s *Session) sendSessionInfo() {
	s.mu.Lock()
	out := s.output
	s.mu.Unlock()
	s.sendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_SessionInfo{SessionInfo: &holocastv1.SessionInfo{
		SessionId: s.cfg.ID, Width: uint32(out.Width), Height: uint32(out.Height), Fps: uint32(out.FPS),
		Encoder: s.deps.Encoders.Name, Renderer: s.deps.Renderers.Name(), Predictor: s.predictor.Name(),
		Scene: s.sceneName(),
	}}})
}

// Notice sends text to the client in a Notice on the control channel, if
// it has one open; like every control message it is not queued behind a
// backed-up channel (see Stats.ControlDropped). The node uses it to say
// that it is draining.
func (s *Session) Notice(text string) { s.notice(text) }

func (s *Session) notice(text string) {
	s.sendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_Notice{Notice: &holocastv1.Notice{Message: text}}})
}

// sendControl sends one message on the control channel if it is open and
// not backed up. It never blocks. A message that cannot be sent is counted
// in Stats.ControlDropped: control messages are advisory (FrameInfo, Ping,
// Notice) and the next one supersedes it.
func (s *Session) sendControl(m *holocastv1.ControlMessage) {
	dc := s.control.Load()
	if dc == nil {
		return
	}
	if dc.BufferedAmount() > maxControlBuffered {
		s.stats.controlDropped.Add(1)
		return
	}
	b, err := proto.Marshal(m)
	if err == nil {
		err = dc.Send(b)
	}
	if err != nil {
		s.stats.controlDropped.Add(1)
		s.log.Debug("control message not sent", "err", err)
	}
}

// poseProto is a helper for FrameInfo.
func poseProto(p pose.Pose) (*holocastv1.Quat, *holocastv1.Vec3) {
	return wire.QuatToProto(p.Orientation), wire.Vec3ToProto(p.Position)
}
