package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/holocast/holocast/node"
	"github.com/holocast/holocast/render/scene"
)

// sceneError is a --scene that cannot be loaded: the node exits with
// status 2.
type sceneError struct{ err error }

func (e sceneError) Error() string { return e.err.Error() }
func (e sceneError) Unwrap() error { return e.err }

// loadScenes fills cfg's scenes from --scene and --scene-fit.
func loadScenes(cfg *node.Config, path, fit string, log *slog.Logger) error {
	switch fit {
	case "auto":
	case "none":
		cfg.SceneFitNone = true
	default:
		return fmt.Errorf("--scene-fit %q: want auto or none", fit)
	}
	cat, err := scene.LoadCatalog(path, scene.DefaultLimits, log)
	if err != nil {
		return sceneError{fmt.Errorf("--scene %w", err)}
	}
	cfg.Scenes = cat
	if path != "" {
		if st, err := os.Stat(path); err == nil && !st.IsDir() {
			cfg.DefaultScene = cat.List()[1].Name
		}
	}
	return nil
}
