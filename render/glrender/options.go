package glrender

// Option configures NewWorker.
type Option func(*options)

type options struct {
	platform string
}

// WithPlatform forces the EGL platform: "device" or "surfaceless" (see
// package render/egl). By default the EGL_PLATFORM environment variable is
// honoured and otherwise a hardware EGL device is preferred over Mesa's
// surfaceless platform.
func WithPlatform(p string) Option {
	return func(o *options) { o.platform = p }
}
