package session

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/go-gl/mathgl/mgl64"
	"google.golang.org/protobuf/proto"

	"github.com/holocast/holocast/pose"
	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/proto/wire"
	"github.com/holocast/holocast/render/rendertest"
)

// yawPose is a head pose turned yawDeg about +Y, with a sample time that
// grows with seq.
func yawPose(seq uint64, yawDeg float64) *holocastv1.Pose {
	return &holocastv1.Pose{
		Seq:          seq,
		SampleTimeUs: int64(seq) * 11_111,
		Orientation:  wire.QuatToProto(mgl64.QuatRotate(mgl64.DegToRad(yawDeg), mgl64.Vec3{0, 1, 0})),
		Position:     &holocastv1.Vec3{X: 0.1, Y: 1.6, Z: -0.2},
	}
}

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// intakeTotal counts every datagram the intake has judged.
func intakeTotal(s pose.IntakeStats) uint64 {
	return s.Accepted + s.Malformed + s.Invalid + s.Stale + s.Duplicate
}

// TestPoseIntakeReordering: poses arrive on the unordered pose channel out
// of order, duplicated and malformed. Stale, duplicate, malformed and
// invalid datagrams are counted in Stats().Intake and change nothing; the
// newest seq wins: every frame rendered after it arrived carries it in
// FrameInfo.pose_seq, shows its orientation and position (Predictor
// "none") and echoes its sample time, and the picture itself is drawn for
// it (the rendertest luma of its yaw, which the fake encoder carries into
// the video). Across all frames pose_seq never goes backwards.
func TestPoseIntakeReordering(t *testing.T) {
	checkGoroutines(t)
	// The burst below is sent back to back: a pose rate limit above it.
	h := startSession(t, harnessOptions{cfg: func(c *Config) { c.PoseRate = Rate{PerSecond: 1000, Burst: 200} }})
	h.waitStreaming()

	nonUnit := yawPose(1000, 0)
	nonUnit.Orientation.W = 2
	nanPos := yawPose(1000, 0)
	nanPos.Position.X = float32(math.NaN())
	farPos := yawPose(1000, 0)
	farPos.Position.X = 1e6
	noOrientation := yawPose(1000, 0)
	noOrientation.Orientation = nil

	type counter func(pose.IntakeStats) uint64
	accepted := func(s pose.IntakeStats) uint64 { return s.Accepted }
	stale := func(s pose.IntakeStats) uint64 { return s.Stale }
	duplicate := func(s pose.IntakeStats) uint64 { return s.Duplicate }
	malformed := func(s pose.IntakeStats) uint64 { return s.Malformed }
	invalid := func(s pose.IntakeStats) uint64 { return s.Invalid }
	steps := []struct {
		name   string
		data   []byte
		counts counter
		newest *holocastv1.Pose // the pose frames must show afterwards
	}{
		{"first pose", marshal(t, yawPose(10, 20)), accepted, yawPose(10, 20)},
		{"older seq", marshal(t, yawPose(4, 120)), stale, yawPose(10, 20)},
		{"same seq again", marshal(t, yawPose(10, 170)), duplicate, yawPose(10, 20)},
		{"next seq", marshal(t, yawPose(11, 60)), accepted, yawPose(11, 60)},
		{"not a protobuf", []byte{0xff, 0xff, 0xff}, malformed, yawPose(11, 60)},
		{"too large", make([]byte, pose.MaxDatagramSize+1), malformed, yawPose(11, 60)},
		{"seq 0", marshal(t, yawPose(0, 30)), invalid, yawPose(11, 60)},
		{"no orientation", marshal(t, noOrientation), invalid, yawPose(11, 60)},
		{"not a unit quaternion", marshal(t, nonUnit), invalid, yawPose(11, 60)},
		{"NaN position", marshal(t, nanPos), invalid, yawPose(11, 60)},
		{"absurd position", marshal(t, farPos), invalid, yawPose(11, 60)},
		{"seq jumps ahead", marshal(t, yawPose(100, 100)), accepted, yawPose(100, 100)},
		{"seq just behind", marshal(t, yawPose(99, 140)), stale, yawPose(100, 100)},
	}
	// One datagram at a time, each judged before the next is sent, so that
	// the counts do not depend on the channel's delivery order.
	for _, st := range steps {
		before := h.s.Stats().Intake
		h.hs.sendPose(st.data)
		waitFor(t, st.name+" judged", func() bool { return intakeTotal(h.s.Stats().Intake) == intakeTotal(before)+1 })
		if after := h.s.Stats().Intake; st.counts(after) != st.counts(before)+1 {
			t.Errorf("%s: intake %+v -> %+v: counted in the wrong place", st.name, before, after)
		}
		checkRenderedPose(t, h, st.name, st.newest)
	}
	want := pose.IntakeStats{Accepted: 3, Stale: 2, Duplicate: 1, Malformed: 2, Invalid: 5}
	if got := h.s.Stats().Intake; got != want {
		t.Errorf("intake %+v, want %+v", got, want)
	}

	// Then a burst, shuffled and with duplicates, sent back to back: the
	// highest seq wins whatever order they arrive in.
	rng := rand.New(rand.NewPCG(1, 2))
	var burst []uint64
	for seq := uint64(101); seq <= 160; seq++ {
		burst = append(burst, seq)
	}
	for range 10 {
		burst = append(burst, burst[rng.IntN(len(burst))])
	}
	rng.Shuffle(len(burst), func(i, j int) { burst[i], burst[j] = burst[j], burst[i] })
	for _, seq := range burst {
		h.hs.sendPose(marshal(t, yawPose(seq, float64(seq))))
	}
	total := intakeTotal(want) + uint64(len(burst))
	waitFor(t, "the burst judged", func() bool { return intakeTotal(h.s.Stats().Intake) == total })
	got := h.s.Stats().Intake
	if got.Malformed != want.Malformed || got.Invalid != want.Invalid || got.Accepted < want.Accepted+1 {
		t.Errorf("after the burst: intake %+v", got)
	}
	checkRenderedPose(t, h, "after the burst", yawPose(160, 160))

	infos := h.hs.frameInfos()
	for i := 1; i < len(infos); i++ {
		if infos[i].GetPoseSeq() < infos[i-1].GetPoseSeq() {
			t.Errorf("pose_seq went backwards: frame %d has %d, frame %d had %d",
				infos[i].GetFrameId(), infos[i].GetPoseSeq(), infos[i-1].GetFrameId(), infos[i-1].GetPoseSeq())
		}
	}
}

// checkRenderedPose waits for a frame that started after now and checks
// that it was rendered for want.
func checkRenderedPose(t *testing.T, h *harness, step string, want *holocastv1.Pose) {
	t.Helper()
	fi := h.hs.waitInfo(h.nextFrameID())
	if fi.GetPoseSeq() != want.GetSeq() {
		t.Errorf("%s: frame %d has pose_seq %d, want %d", step, fi.GetFrameId(), fi.GetPoseSeq(), want.GetSeq())
		return
	}
	if fi.GetPoseSampleTimeUs() != want.GetSampleTimeUs() {
		t.Errorf("%s: frame %d echoes sample time %d, want %d", step, fi.GetFrameId(), fi.GetPoseSampleTimeUs(), want.GetSampleTimeUs())
	}
	q, wq := fi.GetRenderedOrientation(), want.GetOrientation()
	if !approx(1e-5, []float32{q.GetX(), q.GetY(), q.GetZ(), q.GetW()}, []float32{wq.GetX(), wq.GetY(), wq.GetZ(), wq.GetW()}) {
		t.Errorf("%s: frame %d rendered orientation %v, want %v", step, fi.GetFrameId(), q, wq)
	}
	p, wp := fi.GetRenderedPosition(), want.GetPosition()
	if !approx(1e-5, []float32{p.GetX(), p.GetY(), p.GetZ()}, []float32{wp.GetX(), wp.GetY(), wp.GetZ()}) {
		t.Errorf("%s: frame %d rendered position %v, want %v", step, fi.GetFrameId(), p, wp)
	}
	// The picture: rendertest paints the left eye's yaw as luma.
	dp, err := pose.FromProto(want)
	if err != nil {
		t.Fatal(err)
	}
	wantLuma := rendertest.YawLuma(h.cfg.Output.Device.Views(dp).Left) | 1
	var f rxFrame
	waitFor(t, fmt.Sprintf("video of frame %d", fi.GetFrameId()), func() bool {
		var ok bool
		f, ok = h.hs.frameByTS(fi.GetRtpTimestamp())
		return ok
	})
	if l, ok := f.luma(); !ok || l != wantLuma {
		t.Errorf("%s: frame %d drawn with luma %d, want %d (yaw of seq %d)", step, fi.GetFrameId(), l, wantLuma, want.GetSeq())
	}
}
