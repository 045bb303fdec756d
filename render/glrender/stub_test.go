//go:build !egl || !cgo

package glrender

import (
	"context"
	"errors"
	"testing"
)

func TestStubNewWorker(t *testing.T) {
	if _, err := NewWorker(context.Background()); !errors.Is(err, ErrNoGL) {
		t.Fatalf("NewWorker: %v, want ErrNoGL", err)
	}
}
