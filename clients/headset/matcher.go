package headset

import (
	"time"

	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
)

// matcher pairs frames with their FrameInfo by RTP timestamp. Either may
// arrive first (RTP and SCTP are separate paths). Frames are released in
// arrival order; a frame whose info has not come within timeout is released
// without it, and infos whose frame never came are forgotten after a while.
type matcher struct {
	timeout time.Duration
	queue   []*waitingFrame // frames in arrival order
	infos   map[uint32]infoAt
	full    uint64 // frames dropped because Frames() was full
}

type waitingFrame struct {
	f  *Frame
	at time.Time
}

type infoAt struct {
	info *holocastv1.FrameInfo
	at   time.Time
}

func (m *matcher) addFrame(f *Frame, now time.Time) []*Frame {
	if in, ok := m.infos[f.RTPTimestamp]; ok {
		f.Info = in.info
		delete(m.infos, f.RTPTimestamp)
	}
	m.queue = append(m.queue, &waitingFrame{f, now})
	return m.release(now)
}

func (m *matcher) addInfo(info *holocastv1.FrameInfo, now time.Time) []*Frame {
	for _, w := range m.queue {
		if w.f.Info == nil && w.f.RTPTimestamp == info.GetRtpTimestamp() {
			w.f.Info = info
			return m.release(now)
		}
	}
	if m.infos == nil {
		m.infos = map[uint32]infoAt{}
	}
	m.infos[info.GetRtpTimestamp()] = infoAt{info, now}
	for ts, in := range m.infos {
		if now.Sub(in.at) > 4*m.timeout {
			delete(m.infos, ts)
		}
	}
	return m.release(now)
}

// release pops the frames at the head of the queue that are matched or
// have waited long enough.
func (m *matcher) release(now time.Time) []*Frame {
	var out []*Frame
	for len(m.queue) > 0 {
		w := m.queue[0]
		if w.f.Info == nil && now.Sub(w.at) < m.timeout {
			break
		}
		out = append(out, w.f)
		m.queue = m.queue[1:]
	}
	return out
}

// flush releases everything still waiting.
func (m *matcher) flush() []*Frame {
	out := make([]*Frame, 0, len(m.queue))
	for _, w := range m.queue {
		out = append(out, w.f)
	}
	m.queue = nil
	return out
}
