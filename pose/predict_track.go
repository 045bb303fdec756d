package pose

import (
	"math"
	"time"

	"github.com/go-gl/mathgl/mgl64"
)

// Limits shared by the predictors.
const (
	// GlitchAngularSpeed is the angular speed (rad/s, 2000°/s) above which the
	// step between two samples is taken as a tracking glitch: motion
	// history is dropped and estimation restarts from the new sample.
	GlitchAngularSpeed = 2000 * math.Pi / 180
	// GlitchLinearSpeed is the same limit for position, in m/s.
	GlitchLinearSpeed = 20.0
	// MaxSampleGap is the longest interval between two samples across
	// which a velocity is still estimated; a longer gap restarts history.
	MaxSampleGap = 250 * time.Millisecond
	// StaleAfter is how old the newest sample may be, relative to the
	// requested time, before predictors stop extrapolating and return it
	// as is.
	StaleAfter = 500 * time.Millisecond
	// MaxExtrapolation caps the look-ahead actually extrapolated.
	MaxExtrapolation = 300 * time.Millisecond

	// minGlitchDt floors the interval used to test for glitches, so that
	// two samples with nearly equal timestamps do not look like a spike.
	minGlitchDt = 4 * time.Millisecond
	// historyCap bounds the samples a track keeps.
	historyCap = 32
)

// sample is one accepted pose in a track, orientation sign-aligned with
// its predecessor.
type sample struct {
	t time.Duration
	q mgl64.Quat
	p mgl64.Vec3
	// w, v are the client-sent velocities, valid if hasVel.
	w, v   mgl64.Vec3
	hasVel bool
}

// track validates incoming poses and keeps a short, clean history: finite
// values, unit quaternions in one hemisphere, strictly increasing times,
// no glitch or long gap inside it.
type track struct {
	last Pose // newest accepted pose, orientation normalised
	seen bool
	hist []sample // oldest first; hist[len-1] matches last
}

// observe accepts p into the track and reports whether it was accepted,
// and whether the history was restarted by it.
func (tr *track) observe(p Pose) (accepted, restarted bool) {
	q, ok := normalizeQuat(p.Orientation)
	if !ok || !finiteVec(p.Position) {
		return false, false
	}
	p.Orientation = q
	if p.HasVelocity && (!finiteVec(p.AngularVelocity) || !finiteVec(p.LinearVelocity)) {
		p.HasVelocity = false
	}
	s := sample{t: p.Time, p: p.Position, w: p.AngularVelocity, v: p.LinearVelocity, hasVel: p.HasVelocity}
	if !tr.seen {
		s.q = q
		tr.accept(p, s, true)
		return true, true
	}
	if p.Time <= tr.last.Time {
		return false, false // duplicate or out-of-order time: ignore
	}
	prev := tr.hist[len(tr.hist)-1]
	s.q = alignQuat(q, prev.q)
	dt := p.Time - prev.t
	gdt := dt
	if gdt < minGlitchDt {
		gdt = minGlitchDt
	}
	ang := quatAngle(s.q, prev.q) / gdt.Seconds()
	lin := p.Position.Sub(prev.p).Len() / gdt.Seconds()
	restart := dt > MaxSampleGap || ang > GlitchAngularSpeed || lin > GlitchLinearSpeed || math.IsNaN(lin)
	tr.accept(p, s, restart)
	return true, restart
}

func (tr *track) accept(p Pose, s sample, restart bool) {
	p.Orientation = s.q
	tr.last, tr.seen = p, true
	if restart {
		tr.hist = tr.hist[:0]
	}
	if len(tr.hist) == historyCap {
		copy(tr.hist, tr.hist[1:])
		tr.hist = tr.hist[:historyCap-1]
	}
	tr.hist = append(tr.hist, s)
}

// horizon returns the look-ahead in seconds from the newest sample to at,
// clamped to [0, MaxExtrapolation], and false when the newest sample is
// stale (or there is none) and no extrapolation should happen.
func (tr *track) horizon(at time.Duration) (float64, bool) {
	if !tr.seen {
		return 0, false
	}
	d := at - tr.last.Time
	if d > StaleAfter {
		return 0, false
	}
	if d < 0 {
		d = 0
	}
	if d > MaxExtrapolation {
		d = MaxExtrapolation
	}
	return d.Seconds(), true
}

// result builds the predicted pose at time at from the newest pose moved
// by rotation vector r and translation dp, with the given velocities.
func (tr *track) result(at time.Duration, r, dp, w, v mgl64.Vec3) Pose {
	out := tr.last
	out.Time = at
	if finiteVec(r) {
		out.Orientation = rotateBy(r, tr.last.Orientation)
	}
	if finiteVec(dp) {
		out.Position = tr.last.Position.Add(dp)
	}
	if finiteVec(w) && finiteVec(v) {
		out.AngularVelocity, out.LinearVelocity, out.HasVelocity = w, v, true
	}
	return out
}

// current returns the newest pose unchanged, or Identity before any.
func (tr *track) current() Pose {
	if !tr.seen {
		return Identity()
	}
	return tr.last
}
