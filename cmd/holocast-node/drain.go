package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// errCutShort is returned (exit status 1) when a second SIGINT or SIGTERM
// ends the drain before its time.
var errCutShort = errors.New("a second signal cut the drain short: remaining sessions were ended at once")

// watchSignals turns SIGINT and SIGTERM into two contexts: first is done
// at the first signal (the node drains), second at the second (the node
// stops at once). After the second, the signals have their default
// action again, so that a third kills the process. stop ends the watch.
func watchSignals() (first, second context.Context, stop func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	first, cancelFirst := context.WithCancel(context.Background())
	second, cancelSecond := context.WithCancel(context.Background())
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, cancel := range []context.CancelFunc{cancelFirst, cancelSecond} {
			select {
			case <-ch:
				cancel()
			case <-done:
				return
			}
		}
		signal.Stop(ch)
	}()
	return first, second, func() {
		signal.Stop(ch)
		close(done)
		wg.Wait()
		cancelFirst()
		cancelSecond()
	}
}
