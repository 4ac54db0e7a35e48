package client

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/lxzan/gws"
)

// delayLine hands items to fn in order, each no sooner than delay after it
// was pushed, give or take jitter: an injected network latency. Each
// item's delay is delay plus a jitter drawn uniformly from [-jitter,
// +jitter] (never below 0), except that an item never overtakes the one
// pushed before it: a TCP connection delivers in order, so an item drawn
// earlier than its predecessor waits for it (head-of-line blocking). With
// neither delay nor jitter it calls fn at once, on the caller's goroutine.
type delayLine[T any] struct {
	delay  time.Duration
	jitter time.Duration
	last   time.Time // when the last item pushed is due
	fn     func(T)
	clone  func(T) T // copies what an item borrows from its caller
	mu     sync.Mutex
	q      []delayed[T]
	wake   chan struct{}
	done   chan struct{}
	once   sync.Once
}

type delayed[T any] struct {
	at time.Time
	v  T
}

func newDelayLine[T any](delay, jitter time.Duration, clone func(T) T, fn func(T)) *delayLine[T] {
	d := &delayLine[T]{delay: max(delay, 0), jitter: max(jitter, 0), fn: fn, clone: clone, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if d.delay > 0 || d.jitter > 0 {
		go d.run()
	}
	return d
}

// due returns when an item pushed at now is due: now + delay + a jitter
// drawn from u (uniform in [0, 1)) mapped onto [-jitter, +jitter], at
// least now, and no sooner than the item pushed before it (last). d.mu is
// held.
func (d *delayLine[T]) due(now time.Time, u float64) time.Time {
	w := d.delay + time.Duration((2*u-1)*float64(d.jitter))
	at := now.Add(max(w, 0))
	if at.Before(d.last) {
		at = d.last
	}
	d.last = at
	return at
}

// push hands v to fn now, or after the delay; v is cloned only when it
// must wait, so the caller may reuse what it borrows once push returns.
func (d *delayLine[T]) push(v T) {
	if d.delay <= 0 && d.jitter <= 0 {
		d.fn(v)
		return
	}
	d.mu.Lock()
	d.q = append(d.q, delayed[T]{at: d.due(time.Now(), rand.Float64()), v: d.clone(v)})
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *delayLine[T]) stop() { d.once.Do(func() { close(d.done) }) }

func (d *delayLine[T]) run() {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		d.mu.Lock()
		var next *delayed[T]
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
		v := d.q[0].v
		var zero delayed[T]
		d.q[0] = zero // let the frame go
		d.q = d.q[1:]
		d.mu.Unlock()
		d.fn(v)
	}
}

// frame is an item of the client's delay lines. Coming in: a frame of
// connection gen (a link), or the news that it closed with code. Going
// out: a frame for the connection ws.
type frame struct {
	gen    int
	ws     *gws.Conn
	b      []byte
	closed bool
	code   uint16
}

func cloneFrame(f frame) frame {
	f.b = append([]byte(nil), f.b...)
	return f
}
