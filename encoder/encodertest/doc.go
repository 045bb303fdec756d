// Package encodertest helps test code that produces or consumes H.264
// through the encoder contract: a pure-Go Fake encoder for the stages
// above the codec (session, node, clients), synthetic I420 content, ffmpeg
// and ffprobe checks, and Run, the conformance suite every encoder back-end
// passes.
package encodertest
