package client

import (
	"sync"
	"time"
)

// delayLine hands frames to fn in order, each no sooner than delay after it
// was pushed: an injected network latency. With no delay it calls fn at
// once, on the caller's goroutine.
type delayLine struct {
	delay time.Duration
	fn    func([]byte)
	mu    sync.Mutex
	q     []delayed
	wake  chan struct{}
	done  chan struct{}
	once  sync.Once
}

type delayed struct {
	at time.Time
	b  []byte
}

func newDelayLine(delay time.Duration, fn func([]byte)) *delayLine {
	d := &delayLine{delay: delay, fn: fn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if delay > 0 {
		go d.run()
	}
	return d
}

// push hands b to fn now, or after the delay; b is copied only when it
// must wait, so the caller may reuse it once push returns.
func (d *delayLine) push(b []byte) {
	if d.delay <= 0 {
		d.fn(b)
		return
	}
	d.mu.Lock()
	d.q = append(d.q, delayed{at: time.Now().Add(d.delay), b: append([]byte(nil), b...)})
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *delayLine) stop() { d.once.Do(func() { close(d.done) }) }

func (d *delayLine) run() {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		d.mu.Lock()
		var next *delayed
		if len(d.q) > 0 {
			next = &d.q[0]
		}
		d.mu.Unlock()
		if next == nil {
			select {
			case <-d.wake:
				continue
			case <-d.done:
				return
			}
		}
		if w := time.Until(next.at); w > 0 {
			t.Reset(w)
			select {
			case <-t.C:
			case <-d.wake:
				t.Stop() // Go 1.23 timers: no stale value to drain
				continue
			case <-d.done:
				return
			}
		}
		d.mu.Lock()
		b := d.q[0].b
		d.q = d.q[1:]
		d.mu.Unlock()
		d.fn(b)
	}
}
