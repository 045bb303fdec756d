package pose

import (
	"errors"
	"math"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
)

func marshal(t testing.TB, m *holocastv1.Pose) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unitPose(seq uint64) *holocastv1.Pose {
	return &holocastv1.Pose{
		Seq: seq, SampleTimeUs: int64(seq) * 11111,
		Orientation: &holocastv1.Quat{W: 1},
		Position:    &holocastv1.Vec3{X: 0.1, Y: 1.6, Z: -0.2},
	}
}

func TestDecode(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	tests := []struct {
		name  string
		in    []byte
		want  error
		check func(t *testing.T, p Pose)
	}{
		{name: "valid", in: marshal(t, unitPose(7)), check: func(t *testing.T, p Pose) {
			if p.Seq != 7 || p.Time != 7*11111*time.Microsecond || p.Position[1] < 1.59 || p.HasVelocity {
				t.Errorf("got %+v", p)
			}
		}},
		{name: "near unit is normalised", in: marshal(t, &holocastv1.Pose{Seq: 1, Orientation: &holocastv1.Quat{Y: 0.72, W: 0.72}}), check: func(t *testing.T, p Pose) {
			if d := math.Abs(p.Orientation.Len() - 1); d > 1e-9 {
				t.Errorf("|q|-1 = %g", d)
			}
		}},
		{name: "velocities", in: marshal(t, &holocastv1.Pose{Seq: 1, Orientation: &holocastv1.Quat{W: 1}, AngularVelocity: &holocastv1.Vec3{Y: 1}}), check: func(t *testing.T, p Pose) {
			if !p.HasVelocity || p.AngularVelocity[1] != 1 {
				t.Errorf("got %+v", p)
			}
		}},
		{name: "garbage", in: []byte{0xff, 0xff, 0xff, 0xff}, want: ErrMalformed},
		{name: "too large", in: make([]byte, MaxDatagramSize+1), want: ErrTooLarge},
		{name: "empty", in: nil, want: ErrNoSeq},
		{name: "no orientation", in: marshal(t, &holocastv1.Pose{Seq: 1}), want: ErrNoOrientation},
		{name: "zero quaternion", in: marshal(t, &holocastv1.Pose{Seq: 1, Orientation: &holocastv1.Quat{}}), want: ErrNotUnit},
		{name: "far from unit", in: marshal(t, &holocastv1.Pose{Seq: 1, Orientation: &holocastv1.Quat{W: 2}}), want: ErrNotUnit},
		{name: "NaN orientation", in: marshal(t, &holocastv1.Pose{Seq: 1, Orientation: &holocastv1.Quat{W: nan}}), want: ErrNotFinite},
		{name: "Inf position", in: marshal(t, &holocastv1.Pose{Seq: 1, Orientation: &holocastv1.Quat{W: 1}, Position: &holocastv1.Vec3{X: inf}}), want: ErrNotFinite},
		{name: "absurd position", in: marshal(t, &holocastv1.Pose{Seq: 1, Orientation: &holocastv1.Quat{W: 1}, Position: &holocastv1.Vec3{Z: 1e7}}), want: ErrOutOfRange},
		{name: "absurd angular velocity", in: marshal(t, &holocastv1.Pose{Seq: 1, Orientation: &holocastv1.Quat{W: 1}, AngularVelocity: &holocastv1.Vec3{X: 1e4}}), want: ErrOutOfRange},
		{name: "NaN linear velocity", in: marshal(t, &holocastv1.Pose{Seq: 1, Orientation: &holocastv1.Quat{W: 1}, LinearVelocity: &holocastv1.Vec3{Y: nan}}), want: ErrNotFinite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Decode(tt.in)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

func TestIntakeOrdering(t *testing.T) {
	now := time.Unix(100, 0)
	in := NewIntake(WithNow(func() time.Time { now = now.Add(time.Millisecond); return now }))
	steps := []struct {
		seq  uint64
		want error
	}{
		{3, nil}, {1, ErrStale}, {3, ErrDuplicate}, {5, nil}, {4, ErrStale}, {6, nil},
	}
	for _, s := range steps {
		if err := in.Submit(marshal(t, unitPose(s.seq))); !errors.Is(err, s.want) {
			t.Errorf("seq %d: err = %v, want %v", s.seq, err, s.want)
		}
	}
	if err := in.Submit([]byte("not a pose")); err == nil {
		t.Error("garbage accepted")
	}
	if err := in.Submit(marshal(t, &holocastv1.Pose{Seq: 9, Orientation: &holocastv1.Quat{X: 3}})); err == nil {
		t.Error("non-unit accepted")
	}
	latest, ok := in.Latest()
	if !ok || latest.Seq != 6 {
		t.Fatalf("latest = %d, %v; want 6", latest.Seq, ok)
	}
	got := in.Drain(nil)
	if len(got) != 3 || got[0].Seq != 3 || got[1].Seq != 5 || got[2].Seq != 6 {
		t.Fatalf("drained %v", got)
	}
	if !got[0].Arrived.Before(got[2].Arrived) {
		t.Error("arrival times not increasing")
	}
	if len(in.Drain(nil)) != 0 {
		t.Error("second drain not empty")
	}
	want := IntakeStats{Accepted: 3, Stale: 2, Duplicate: 1, Malformed: 1, Invalid: 1}
	if s := in.Stats(); s != want {
		t.Errorf("stats = %+v, want %+v", s, want)
	}
}

func TestIntakeOverflowKeepsNewest(t *testing.T) {
	in := NewIntake()
	for seq := uint64(1); seq <= PendingLimit+10; seq++ {
		if err := in.Submit(marshal(t, unitPose(seq))); err != nil {
			t.Fatal(err)
		}
	}
	got := in.Drain(nil)
	if len(got) != PendingLimit || got[len(got)-1].Seq != PendingLimit+10 || got[0].Seq != 11 {
		t.Fatalf("drained %d samples, first %d last %d", len(got), got[0].Seq, got[len(got)-1].Seq)
	}
	if s := in.Stats(); s.Overflow != 10 {
		t.Errorf("overflow = %d", s.Overflow)
	}
}

func TestToProtoRoundTrip(t *testing.T) {
	p, err := Decode(marshal(t, unitPose(42)))
	if err != nil {
		t.Fatal(err)
	}
	q, err := FromProto(ToProto(p))
	if err != nil {
		t.Fatal(err)
	}
	if q.Seq != p.Seq || q.Time != p.Time || !q.Orientation.ApproxEqual(p.Orientation) || !q.Position.ApproxEqualThreshold(p.Position, 1e-6) {
		t.Errorf("round trip %+v -> %+v", p, q)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(marshal(f, unitPose(1)))
	f.Add(marshal(f, &holocastv1.Pose{Seq: 2, Orientation: &holocastv1.Quat{X: 0.5, Y: 0.5, Z: 0.5, W: 0.5}, AngularVelocity: &holocastv1.Vec3{Y: 3}}))
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x01, 0x1a, 0x05, 0x25, 0x00, 0x00, 0x80, 0x3f})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(b)
		if err != nil {
			return
		}
		if p.Seq == 0 {
			t.Fatal("accepted seq 0")
		}
		if d := math.Abs(p.Orientation.Len() - 1); !(d < 1e-6) {
			t.Fatalf("accepted non-unit orientation, |q|-1 = %g", d)
		}
		if !finite(p.Position[0], p.Position[1], p.Position[2]) || p.Position.Len() > MaxPosition {
			t.Fatalf("accepted bad position %v", p.Position)
		}
	})
}
