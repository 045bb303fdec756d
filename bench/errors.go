package bench

import "errors"

// ErrNoFrames is returned when a run received no frame at all.
var ErrNoFrames = errors.New("bench: no frame received")

// ErrNoFFmpeg is returned when the ffmpeg executable is missing.
var ErrNoFFmpeg = errors.New("bench: ffmpeg not found")
