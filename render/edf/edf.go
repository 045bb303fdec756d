// Package edf is an earliest-deadline-first job queue: the order in which
// a render worker shared by several sessions serves their frames. Jobs
// with the same deadline are served in the order they were pushed, and a
// job without a deadline (the zero time: setup work such as making or
// resizing a render target) goes before every frame.
package edf

import (
	"container/heap"
	"sync"
	"time"
)

// Queue holds jobs until a worker pops them, earliest deadline first. Its
// zero value is not ready: use New. Safe for concurrent use.
type Queue struct {
	mu    sync.Mutex
	items items
	seq   uint64
	ready chan struct{}
}

// New returns an empty Queue.
func New() *Queue { return &Queue{ready: make(chan struct{}, 1)} }

// Push adds job with its deadline and wakes a worker waiting on Ready.
func (q *Queue) Push(deadline time.Time, job func()) {
	q.mu.Lock()
	q.seq++
	heap.Push(&q.items, item{deadline: deadline, seq: q.seq, job: job})
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// Pop removes and returns the job with the earliest deadline, and false
// if the queue is empty.
func (q *Queue) Pop() (func(), bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return nil, false
	}
	return heap.Pop(&q.items).(item).job, true
}

// Len returns the number of jobs waiting.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// Ready receives a value after a Push: a worker that found the queue
// empty waits on it, then pops until the queue is empty again.
func (q *Queue) Ready() <-chan struct{} { return q.ready }

type item struct {
	deadline time.Time
	seq      uint64
	job      func()
}

// items is a min-heap by (deadline, seq).
type items []item

func (h items) Len() int { return len(h) }
func (h items) Less(i, j int) bool {
	if !h[i].deadline.Equal(h[j].deadline) {
		return h[i].deadline.Before(h[j].deadline)
	}
	return h[i].seq < h[j].seq
}
func (h items) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *items) Push(x any)   { *h = append(*h, x.(item)) }
func (h *items) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = item{}
	*h = old[:len(old)-1]
	return it
}
