package client

import (
	"container/heap"
	"hash/maphash"
	"runtime"
	"sync"
	"time"
)

// The input schedule of every client of the process is kept by a few
// shared schedulers rather than by a goroutine and a timer per client: a
// scheduler sleeps until its earliest due send, then sends every input due
// by then (within sendSlack) one after the other on its own goroutine, and
// sleeps again. The clients of one match are due at about the same time
// (their inputs aim at the same tick), so they share the scheduler (by
// match id) and most wakeups send several inputs. A process of many
// clients (bots) then wakes a few thousand times a second instead of once
// per client per tick, and its writes come in bursts as the server's do.
//
// Each client keeps its own just-in-time schedule (see jit): the
// scheduler only keeps, per client, the time of its next send.
//
// A send is a write on the scheduler's goroutine: one that blocked (a
// server that stopped reading, its socket buffers full) would hold up the
// other clients of the scheduler. At one small input per tick that takes
// hours of a server not reading; servers close such connections long
// before. With Options.Latency the writes go through the client's delay
// line instead.

// sendSlack is how early a scheduler sends an input that is due soon, so
// that sends due within it share one wakeup. It is small against the
// smallest margin jit aims for (netcode.JITMinTargetUs): an input sent that much
// early waits that much longer at the server, and the next snapshot's lead
// tells jit so.
const sendSlack = 200 * time.Microsecond

// schedEpoch is the origin of the schedulers' monotonic clock.
var schedEpoch = time.Now()

// monoNow returns the time since schedEpoch in nanoseconds (monotonic).
func monoNow() int64 { return int64(time.Since(schedEpoch)) }

// schedItem is one client's next send: at (monoNow time) the client sends
// an input of its match of generation gen, one every dt.
type schedItem struct {
	at  int64
	c   *Client
	gen int
	dt  time.Duration
}

// schedHeap orders items by due time.
type schedHeap []schedItem

func (h schedHeap) Len() int           { return len(h) }
func (h schedHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h schedHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *schedHeap) Push(x any)        { *h = append(*h, x.(schedItem)) }
func (h *schedHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = schedItem{}
	*h = old[:len(old)-1]
	return it
}

// scheduler sends the inputs of the clients scheduled on it, from one
// goroutine that runs while it has any.
type scheduler struct {
	mu      sync.Mutex
	q       schedHeap
	running bool
	wake    chan struct{} // an item was added before the head
}

// schedulers are the process's schedulers: as many as it may run
// goroutines in parallel, so that the writes of many clients are spread
// over the cores.
var schedulers = func() []*scheduler {
	s := make([]*scheduler, max(runtime.GOMAXPROCS(0), 1))
	for i := range s {
		s[i] = &scheduler{wake: make(chan struct{}, 1)}
	}
	return s
}()

var schedSeed = maphash.MakeSeed()

// schedulerFor returns the scheduler of the clients of the match with id:
// they are due at about the same times.
func schedulerFor(matchID string) *scheduler {
	return schedulers[maphash.String(schedSeed, matchID)%uint64(len(schedulers))]
}

// add schedules it.
func (s *scheduler) add(it schedItem) {
	s.mu.Lock()
	heap.Push(&s.q, it)
	head := s.q[0].c == it.c && s.q[0].at == it.at
	start := !s.running
	s.running = true
	s.mu.Unlock()
	if start {
		go s.run()
		return
	}
	if head {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// run sends the due inputs until no client is scheduled.
func (s *scheduler) run() {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var due []schedItem
	buf := make([]byte, 0, 64)
	for {
		s.mu.Lock()
		if len(s.q) == 0 {
			s.running = false
			s.mu.Unlock()
			return
		}
		now := monoNow()
		if wait := s.q[0].at - now; wait > int64(sendSlack) {
			s.mu.Unlock()
			t.Reset(time.Duration(wait))
			select {
			case <-t.C:
			case <-s.wake:
				t.Stop() // Go 1.23 timers: no stale value to drain
			}
			continue
		}
		due = due[:0]
		for len(s.q) > 0 && s.q[0].at <= now+int64(sendSlack) {
			due = append(due, heap.Pop(&s.q).(schedItem))
		}
		s.mu.Unlock()
		k := 0
		for _, it := range due {
			var next int64
			var ok bool
			if next, ok, buf = it.c.sendScheduled(&it, buf); ok {
				it.at = next
				due[k] = it
				k++
			}
		}
		s.mu.Lock()
		for _, it := range due[:k] {
			heap.Push(&s.q, it)
		}
		s.mu.Unlock()
		clear(due)
	}
}
