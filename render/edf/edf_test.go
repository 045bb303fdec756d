package edf

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestOrder: jobs come out earliest deadline first, equal deadlines in
// the order they were pushed, jobs without a deadline before all others.
func TestOrder(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name      string
		deadlines []time.Duration // -1: no deadline (zero time)
		want      []int           // indexes in pop order
	}{
		{"in order", []time.Duration{1, 2, 3}, []int{0, 1, 2}},
		{"reversed", []time.Duration{3, 2, 1}, []int{2, 1, 0}},
		{"ties keep push order", []time.Duration{2, 1, 2, 1}, []int{1, 3, 0, 2}},
		{"no deadline first", []time.Duration{2, -1, 1, -1}, []int{1, 3, 2, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := New()
			var got []int
			for i, d := range tc.deadlines {
				var dl time.Time
				if d >= 0 {
					dl = t0.Add(d * time.Millisecond)
				}
				q.Push(dl, func() { got = append(got, i) })
			}
			if q.Len() != len(tc.deadlines) {
				t.Fatalf("Len %d, want %d", q.Len(), len(tc.deadlines))
			}
			for {
				job, ok := q.Pop()
				if !ok {
					break
				}
				job()
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("order %v, want %v", got, tc.want)
			}
		})
	}
}

// TestThreeSessions: three sessions share one worker that is busy with a
// frame while their frames arrive, the latest deadline first; when the
// worker is free it serves them earliest deadline first, not in arrival
// order (FIFO would give A, B, C).
func TestThreeSessions(t *testing.T) {
	q := New()
	t0 := time.Unix(1000, 0)
	var mu sync.Mutex
	var order []string
	busy, release := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() { // the worker
		defer close(done)
		served := 0
		for served < 4 {
			job, ok := q.Pop()
			if !ok {
				<-q.Ready()
				continue
			}
			job()
			served++
		}
	}()
	q.Push(time.Time{}, func() { close(busy); <-release })
	<-busy
	for _, s := range []struct {
		name string
		due  time.Duration
	}{{"A", 30}, {"B", 10}, {"C", 20}} {
		q.Push(t0.Add(s.due*time.Millisecond), func() {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, s.name)
		})
	}
	close(release)
	<-done
	if want := []string{"B", "C", "A"}; !slices.Equal(order, want) {
		t.Errorf("served %v, want %v", order, want)
	}
	if q.Len() != 0 {
		t.Errorf("%d jobs left", q.Len())
	}
}

func ExampleQueue() {
	q := New()
	t0 := time.Unix(0, 0)
	q.Push(t0.Add(20*time.Millisecond), func() { fmt.Println("session 1, due at 20 ms") })
	q.Push(t0.Add(10*time.Millisecond), func() { fmt.Println("session 2, due at 10 ms") })
	for job, ok := q.Pop(); ok; job, ok = q.Pop() {
		job()
	}
	// Output:
	// session 2, due at 10 ms
	// session 1, due at 20 ms
}
