package node

import (
	"fmt"

	"github.com/go-gl/mathgl/mgl32"

	"github.com/holocast/holocast/render/scene"
	"github.com/holocast/holocast/session"
	"github.com/holocast/holocast/signaling"
)

// scenes is the node's catalog as the sessions' session.SceneSource: each
// model placed by the node's fit policy.
type scenes struct {
	cat *scene.Catalog
	fit bool
}

var _ session.SceneSource = scenes{}

// Scene implements session.SceneSource.
func (s scenes) Scene(name string) (*scene.Model, mgl32.Mat4, error) {
	m, err := s.cat.Get(name)
	if err != nil || m == nil {
		return nil, mgl32.Ident4(), err
	}
	return m, placement(m.Bounds, s.fit), nil
}

// placement puts a model on the floor FitDistance ahead of the viewer,
// scaled to FitSize (fit) or in the file's own units.
func placement(b scene.Box, fit bool) mgl32.Mat4 {
	if fit {
		return scene.Fit(b)
	}
	c := b.Center()
	return mgl32.Translate3D(-c[0], scene.FloorY-b.Min[1], -scene.FitDistance-c[2])
}

// checkScene checks the scene a session request names, if any.
func (n *Node) checkScene(name string) error {
	if name == "" {
		return nil
	}
	if _, err := n.scenes.cat.Get(name); err != nil {
		return fmt.Errorf("%w: %w", signaling.ErrNotFound, err)
	}
	return nil
}

// SceneList describes the node's scenes (what GET /v1/scenes answers).
func (n *Node) SceneList() []scene.Info { return n.scenes.cat.List() }
