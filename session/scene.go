package session

import (
	"errors"
	"fmt"
	"sync"

	"github.com/go-gl/mathgl/mgl32"

	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/render"
	"github.com/holocast/holocast/render/scene"
)

// SceneSource gives sessions the node's scenes by name.
type SceneSource interface {
	// Scene returns the model named name (nil for scene.Builtin) and the
	// transform that places it in the world, or an error wrapping
	// scene.ErrUnknownScene.
	Scene(name string) (*scene.Model, mgl32.Mat4, error)
}

// Bounds of a ModelTransform.
const (
	MinModelScale    = 0.01
	MaxModelScale    = 100
	MaxModelDistance = 1000 // metres from the placement
)

// ErrBadModelTransform is wrapped by the Notice text of a rejected
// ModelTransform.
var ErrBadModelTransform = errors.New("bad model transform")

// sceneState is what a session shows: guarded by mu, read by the frame
// loop whenever ver changes.
type sceneState struct {
	mu    sync.Mutex
	name  string
	model *scene.Model
	place mgl32.Mat4
	// The client's ModelTransform.
	seq   uint64
	pos   mgl32.Vec3
	rot   mgl32.Quat
	scale float32
	ver   uint64
}

// initScene resolves the scene the session starts with.
func (s *Session) initScene() error {
	s.scene.rot, s.scene.scale = mgl32.QuatIdent(), 1
	name := s.cfg.Scene
	if name == "" {
		name = scene.Builtin
	}
	if s.deps.Scenes == nil {
		if name != scene.Builtin {
			return fmt.Errorf("session: %w %q: this node has no scenes but the built-in one", scene.ErrUnknownScene, name)
		}
		s.scene.name = name
		return nil
	}
	m, place, err := s.deps.Scenes.Scene(name)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	s.scene.name, s.scene.model, s.scene.place = name, m, place
	s.scene.ver++
	return nil
}

// sceneName returns the name of the scene shown.
func (s *Session) sceneName() string {
	s.scene.mu.Lock()
	defer s.scene.mu.Unlock()
	return s.scene.name
}

func (s *Session) onSelectScene(m *holocastv1.SelectScene) {
	name := m.GetName()
	var model *scene.Model
	var place mgl32.Mat4
	err := fmt.Errorf("%w %q: this node has no scenes but the built-in one", scene.ErrUnknownScene, name)
	if s.deps.Scenes != nil {
		model, place, err = s.deps.Scenes.Scene(name)
	} else if name == scene.Builtin {
		err = nil
	}
	if err != nil {
		s.stats.badControl.Add(1)
		s.notice(err.Error())
		return
	}
	st := &s.scene
	st.mu.Lock()
	st.name, st.model, st.place = name, model, place
	st.ver++
	st.mu.Unlock()
	s.log.Info("scene selected", "scene", name)
	s.sendSessionInfo()
}

func (s *Session) onModelTransform(m *holocastv1.ModelTransform) {
	p, q := m.GetPosition(), m.GetOrientation()
	pos := mgl32.Vec3{p.GetX(), p.GetY(), p.GetZ()}
	rot := mgl32.QuatIdent()
	if q != nil {
		rot = mgl32.Quat{W: q.GetW(), V: mgl32.Vec3{q.GetX(), q.GetY(), q.GetZ()}}
	}
	scale := m.GetScale()
	if scale == 0 {
		scale = 1
	}
	var err error
	switch {
	case !finite32(pos[0], pos[1], pos[2], rot.W, rot.V[0], rot.V[1], rot.V[2], scale):
		err = fmt.Errorf("%w: values must be finite", ErrBadModelTransform)
	case rot.Len() < 1e-3:
		err = fmt.Errorf("%w: orientation is not a rotation", ErrBadModelTransform)
	case scale < MinModelScale || scale > MaxModelScale:
		err = fmt.Errorf("%w: scale %g outside [%g, %g]", ErrBadModelTransform, scale, MinModelScale, float32(MaxModelScale))
	case pos.Len() > MaxModelDistance:
		err = fmt.Errorf("%w: position %.0f m away (at most %d)", ErrBadModelTransform, pos.Len(), MaxModelDistance)
	}
	if err != nil {
		s.stats.badControl.Add(1)
		s.notice(err.Error())
		return
	}
	st := &s.scene
	st.mu.Lock()
	defer st.mu.Unlock()
	if m.GetSeq() <= st.seq && st.seq != 0 {
		return // an older transform overtaken by a newer one
	}
	st.seq, st.pos, st.rot, st.scale = m.GetSeq(), pos, rot.Normalize(), scale
	st.ver++
}

// sceneFrame is what the frame loop last applied to its renderer.
type sceneFrame struct {
	pipe *pipeline
	ver  uint64
	name string
	seq  uint64
	warn bool
}

// applyScene gives the pipeline's renderer the scene and model transform
// in force if they changed since the last frame (or the pipeline is new).
// Frame loop only.
func (s *Session) applyScene(fs *frameState) {
	st := &s.scene
	st.mu.Lock()
	if fs.scene.pipe == fs.pipe && fs.scene.ver == st.ver {
		st.mu.Unlock()
		return
	}
	model, xf := st.model, st.place
	if model != nil {
		c := xf.Mul4x1(model.Bounds.Center().Vec4(1)).Vec3()
		user := mgl32.Translate3D(st.pos[0]+c[0], st.pos[1]+c[1], st.pos[2]+c[2]).
			Mul4(st.rot.Mat4()).
			Mul4(mgl32.Scale3D(st.scale, st.scale, st.scale)).
			Mul4(mgl32.Translate3D(-c[0], -c[1], -c[2]))
		xf = user.Mul4(xf)
	}
	fs.scene.pipe, fs.scene.ver, fs.scene.name, fs.scene.seq = fs.pipe, st.ver, st.name, st.seq
	st.mu.Unlock()
	mv, ok := fs.pipe.r.(render.ModelViewer)
	if !ok {
		if model != nil && !fs.scene.warn {
			fs.scene.warn = true
			s.notice("this node's renderer cannot show models; showing its own scene")
		}
		return
	}
	if err := mv.SetModel(model, xf); err != nil {
		s.frameError("set model", err)
		s.notice(err.Error())
	}
}
