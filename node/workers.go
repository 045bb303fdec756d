package node

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/holocast/holocast/render"
	"github.com/holocast/holocast/render/glrender"
)

// workerPool is the node's GL workers as a render.Factory: each new
// renderer goes to the next worker in turn. The sessions sharing a worker
// have their frames drawn earliest deadline first (their renderers are
// render.DeadlineRenderers; see glrender.Worker).
type workerPool struct {
	workers []*glrender.Worker
	next    atomic.Uint64
}

var _ render.Factory = (*workerPool)(nil)

// startWorkers opens cfg.RenderWorkers GL contexts (at least one). The
// workers live until Close, not until ctx ends: ctx bounds only their start,
// so that a signal cannot stop rendering under sessions that are still
// being closed.
func startWorkers(ctx context.Context, cfg Config) (*workerPool, error) {
	var opts []glrender.Option
	if cfg.EGLPlatform != "" {
		opts = append(opts, glrender.WithPlatform(cfg.EGLPlatform))
	}
	p := &workerPool{}
	for i := 0; i < max(cfg.RenderWorkers, 1); i++ {
		w, err := glrender.NewWorker(context.WithoutCancel(ctx), opts...)
		if err != nil {
			_ = p.Close()
			return nil, fmt.Errorf("node: start renderer %d: %w", i, err)
		}
		p.workers = append(p.workers, w)
	}
	return p, nil
}

// NewRenderer implements render.Factory.
func (p *workerPool) NewRenderer(width, height int) (render.Renderer, error) {
	w := p.workers[p.next.Add(1)%uint64(len(p.workers))]
	return w.NewRenderer(width, height)
}

// Name implements render.Factory: the GL_RENDERER string.
func (p *workerPool) Name() string { return p.workers[0].Info().Renderer }

// Close stops every worker.
func (p *workerPool) Close() error {
	var errs []error
	for _, w := range p.workers {
		errs = append(errs, w.Close())
	}
	return errors.Join(errs...)
}
