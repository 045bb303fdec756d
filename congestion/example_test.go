package congestion_test

import (
	"fmt"
	"time"

	"github.com/holocast/holocast/congestion"
)

// A controller told about sent packets and fed feedback that reports a
// standing queue of 200 ms over two reports cuts its target: towards
// 65 % of the rate the link delivered, by at most half at a time. (The
// first report of a queue that appears out of nowhere only holds the
// target: one late report is more often a starved receiver than a
// queue.)
func ExampleController() {
	c, err := congestion.NewController(congestion.Config{StartBitRate: 2_000_000, MinBitRate: 300_000, MaxBitRate: 5_000_000})
	if err != nil {
		panic(err)
	}
	t0 := time.Unix(0, 0)
	// 100 packets of 1000 bytes, one every 10 ms (800 kbit/s); the first
	// 50 arrive after 20 ms, the others 200 ms and more later: a queue
	// that never drains.
	var acks []congestion.Ack
	for i := range 100 {
		sent := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		c.OnSent(int64(i), 1000, sent)
		queue := time.Duration(0)
		if i >= 50 {
			queue = 200*time.Millisecond + time.Duration(i-50)*time.Millisecond
		}
		acks = append(acks, congestion.Ack{Seq: int64(i), Arrived: sent.Add(20*time.Millisecond + queue)})
	}
	fmt.Println("start:", c.Target())
	c.OnFeedback(acks[:50], t0.Add(520*time.Millisecond))
	c.OnFeedback(acks[50:75], t0.Add(970*time.Millisecond))
	fmt.Println("state:", c.Stats().State)
	c.OnFeedback(acks[75:], t0.Add(1220*time.Millisecond))
	s := c.Stats()
	fmt.Println("state:", s.State, "queue:", s.QueueDelay)
	fmt.Println("target:", c.Target())
	// Output:
	// start: 2000000
	// state: hold
	// state: decrease queue: 221ms
	// target: 1000000
}
