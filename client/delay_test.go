package client

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// Each item is due Latency ± Jitter (uniform) after its push, spread over
// that whole range, and never before the item pushed before it.
func TestDelayLineJitterSpread(t *testing.T) {
	d := &delayLine[int]{delay: 50 * time.Millisecond, jitter: 10 * time.Millisecond}
	rng := rand.New(rand.NewPCG(5, 6))
	t0 := time.Unix(100, 0)
	var last time.Time
	lo, hi := time.Hour, time.Duration(0)
	for i := range 3000 {
		now := t0.Add(time.Duration(i) * 33 * time.Millisecond)
		at := d.due(now, rng.Float64())
		if at.Before(last) {
			t.Fatalf("item %d due at %v, before the one pushed before it (%v)", i, at, last)
		}
		last = at
		w := at.Sub(now)
		lo, hi = min(lo, w), max(hi, w)
	}
	if lo < 40*time.Millisecond || hi > 60*time.Millisecond || lo > 41*time.Millisecond || hi < 59*time.Millisecond {
		t.Errorf("delays from %v to %v, want spread over 40 ms to 60 ms", lo, hi)
	}
	// Pushed closer together than the jitter: one drawn early waits for
	// the one before it.
	d = &delayLine[int]{jitter: 10 * time.Millisecond}
	prev := d.due(t0, 1)                                           // +10 ms
	if at := d.due(t0.Add(time.Millisecond), 0); !at.Equal(prev) { // drawn at -10 ms: never below 0, then after prev
		t.Errorf("an item drawn earlier than its predecessor is due at %v, want %v", at.Sub(t0), prev.Sub(t0))
	}
}

// Through the running line, items arrive in order, none sooner than
// latency - jitter.
func TestDelayLineOrder(t *testing.T) {
	var mu sync.Mutex
	var got []int
	var late []time.Duration
	pushed := make([]time.Time, 200)
	done := make(chan struct{})
	d := newDelayLine(10*time.Millisecond, 5*time.Millisecond, func(v int) int { return v }, func(v int) {
		mu.Lock()
		got = append(got, v)
		late = append(late, time.Since(pushed[v]))
		n := len(got)
		mu.Unlock()
		if n == len(pushed) {
			close(done)
		}
	})
	defer d.stop()
	for i := range pushed {
		pushed[i] = time.Now()
		d.push(i)
		time.Sleep(200 * time.Microsecond)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the items did not all arrive")
	}
	mu.Lock()
	defer mu.Unlock()
	for i, v := range got {
		if v != i {
			t.Fatalf("item %d arrived in place %d: the line reordered", v, i)
		}
		if late[i] < 5*time.Millisecond {
			t.Fatalf("item %d arrived %v after its push, sooner than latency - jitter", i, late[i])
		}
	}
}
