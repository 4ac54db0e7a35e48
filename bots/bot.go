package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"skirmish/client"
	"skirmish/netcode"
)

// One bot: its life (dial, queue, play, leave), its control updated from
// its client's view by the control loop, and the client's callbacks that
// record its acks, reconnects, queue times and migrations.

// Timings of the end of a run.
const (
	// leaveTimeout bounds how long a bot, at the end of the run, waits for
	// a reconnect under way to finish and then for its leave to be read by
	// the server, before it closes anyway.
	leaveTimeout = 3 * time.Second
)

// bot is one simulated player.
type bot struct {
	id     int
	r      *runner
	client atomic.Pointer[client.Client] // set once Dial succeeds
	self   atomic.Uint32                 // own entity of the current match
	hits   atomic.Int64
	// hitType is the type of the mode's event named "hit" (its A: the
	// shooter), +1; 0: the mode declares none.
	hitType atomic.Int32
	// hitscanType is the type of the mode's event named "hitscan" (A: the
	// shooter), +1; 0: none. hitscanBits are the bits of the actions
	// named "hitscan" of the matches the bot played; hitscans counts the
	// hitscan events whose A was the bot's avatar (scored shots).
	hitscanType atomic.Int32
	hitscanBits atomic.Uint32
	hitscans    atomic.Int64
	early       atomic.Bool // the client gave up its connection before the end of the run
	// matchedAt is when the current match's matched message arrived (unix
	// ns); staleAcks counts acks of inputs sent before it (see onAck).
	matchedAt atomic.Int64
	staleAcks atomic.Int64
	leaving   atomic.Bool   // the run is over: the bot is leaving
	pong      chan struct{} // a pong arrived (see leave)
	ready     atomic.Bool   // the control loop may update the bot (the fields under ctl are set)

	ctl        sync.Mutex // guards the fields below, the control loop's
	beh        Behavior
	slot       int         // the control loop's slot of the bot
	view       client.View // reused by every update
	wasPlaying bool        // counted in runner.playing
	stopped    bool        // the bot is done: no more updates

	mu     sync.Mutex // guards the fields below
	acks   []time.Duration
	acked  int             // acks[:acked] were seen by the sampler
	recons []time.Duration // outage of each reconnect
	match  string          // id of the last matched message's match
	queues []queueSample   // queue → matched of each new match
	migs   []migration     // each seat resumed on another node
}

// queueSample is the time from a queue to the matched of the new match.
type queueSample struct {
	match string
	d     time.Duration
}

// migration is a seat resumed on another node: when, after how long since
// the client lost its node, and whether that was a drain (moved) rather
// than a drop (the node died).
type migration struct {
	at    time.Time
	d     time.Duration
	drain bool
}

// run is one bot's life: wait for its start, dial, queue, play (through
// reconnects) until ctx ends, then leave; or until the client gives up.
func (b *bot) run(ctx context.Context, at time.Time, rng *rand.Rand) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Until(at)):
	}
	cfg := &b.r.cfg
	nodes := cfg.Nodes() // validated by run
	var c *client.Client
	// A server that refuses for want of room (503) is asked again after a
	// backoff, as a player's client would: that is no error.
	for wait := time.Second; ; wait = min(2*wait, 10*time.Second) {
		var err error
		c, err = client.Dial(ctx, nodes[b.id%len(nodes)], client.Options{
			Name:        fmt.Sprintf("bot-%d", b.id),
			Nodes:       nodes,
			Requeue:     true,
			Reconnect:   true,
			OnAck:       b.onAck,
			OnMessage:   b.onMessage,
			OnReconnect: b.onReconnect,
			OnQueued:    b.onQueued,
			OnMigrated:  b.onMigrated,
			LocalAddr:   cfg.sourceAddr(b.id), // reconnects keep it
			Latency:     cfg.Latency,
			Jitter:      cfg.Jitter,
		})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return // a dial cut short by the end of the run
		}
		if !errors.Is(err, client.ErrUnavailable) {
			b.r.fail(b.id, fmt.Errorf("dial: %w", err))
			return
		}
		b.r.refuse()
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(float64(wait) * (0.8 + 0.4*rng.Float64()))):
		}
	}
	b.client.Store(c)
	defer c.Close()
	c.Queue(cfg.Mode)

	beh, _ := NewBehavior(cfg.Behavior, rng) // validated by run
	b.ctl.Lock()
	b.beh, b.slot = beh, rng.IntN(controlSlots) // spread the bots' control updates over the interval
	b.ctl.Unlock()
	b.ready.Store(true)
	defer b.stopControl()
	select {
	case <-ctx.Done():
		b.leave(c)
	case <-c.Done():
		b.closedEarly(ctx, c)
	}
}

// controlSlots is the number of slots of the control interval: the control
// loop wakes once a slot and updates the bots of that slot.
const controlSlots = 10

// controlLoop updates the control of every ready bot once per
// ControlInterval, from one goroutine: each wakeup (every 1/controlSlots of
// the interval) updates the bots of one slot. One goroutine and one timer
// for all the bots costs far less than a ticker per bot.
func (r *runner) controlLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.ControlInterval / controlSlots)
	defer t.Stop()
	for slot := 0; ; slot = (slot + 1) % controlSlots {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, b := range r.bots {
				if b.ready.Load() {
					b.control(now, slot)
				}
			}
		}
	}
}

// control updates the bot's control from its client's view, if the bot is
// in slot.
func (b *bot) control(now time.Time, slot int) {
	b.ctl.Lock()
	defer b.ctl.Unlock()
	if b.slot != slot || b.stopped {
		return
	}
	c := b.client.Load()
	c.ViewInto(&b.view)
	playing := b.view.Phase == client.PhasePlaying
	if playing != b.wasPlaying {
		if playing {
			b.r.playing.Add(1)
		} else {
			b.r.playing.Add(-1)
		}
		b.wasPlaying = playing
	}
	c.SetControl(b.beh.Control(now, &b.view))
}

// stopControl takes the bot out of the control loop.
func (b *bot) stopControl() {
	b.ctl.Lock()
	defer b.ctl.Unlock()
	b.stopped = true
	if b.wasPlaying {
		b.r.playing.Add(-1)
		b.wasPlaying = false
	}
}

// leave ends the bot's session as a polite player does: it leaves its
// match or queue, so that the server frees its seat at once rather than
// holding it for the reconnect grace (which would keep the match and its
// goroutine alive after the run), and closes. A reconnect under way is
// let finish first. The server reads a connection's messages in order, so
// the pong of a ping sent after the leave tells that the leave was read.
func (b *bot) leave(c *client.Client) {
	b.leaving.Store(true)
	deadline := time.NewTimer(leaveTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for c.Phase() == client.PhaseReconnecting {
		select {
		case <-c.Done():
			return
		case <-deadline.C:
			return
		case <-poll.C:
		}
	}
	if c.Phase() != client.PhaseLobby { // in the lobby, leave is an error
		c.Leave()
	}
	select {
	case <-b.pong:
	default:
	}
	c.Ping()
	select {
	case <-b.pong:
	case <-c.Done():
	case <-deadline.C:
	}
}

// closedEarly records a client that gave up its connection (it does not
// reconnect after some close codes) before the end of the run.
func (b *bot) closedEarly(ctx context.Context, c *client.Client) {
	if ctx.Err() != nil {
		return
	}
	b.early.Store(true)
	code := c.Stats().CloseCode
	b.r.mu.Lock()
	b.r.closeCodes[code]++
	first := b.r.closeCodes[code] == 1
	b.r.mu.Unlock()
	if first { // once per close code: hundreds of bots usually go alike
		b.r.log.Warn("bot gave up its connection", "bot", b.id, "close_code", code)
	}
}

// onAck runs on the client's read goroutine with the client's lock held: it
// must not call the client.
//
// An input sent before the current match was seated cannot be one of its
// inputs: such a sample would measure the time between matches, not
// latency, so it is dropped and counted apart (stale_acks). So are the
// inputs resent after a resume (the resume's matched message sets
// matchedAt too): their ack time holds the outage, which reconnect_ms
// measures.
func (b *bot) onAck(d time.Duration) {
	if time.Now().Add(-d).UnixNano() < b.matchedAt.Load() {
		b.staleAcks.Add(1)
		return
	}
	b.mu.Lock()
	b.acks = append(b.acks, d)
	b.mu.Unlock()
}

// onReconnect runs with the client's lock held: it must not call the
// client.
func (b *bot) onReconnect(d time.Duration, _ bool) {
	b.mu.Lock()
	b.recons = append(b.recons, d)
	b.mu.Unlock()
}

// onQueued runs on the client's read goroutine, with the client's lock
// held, after onMessage saw the matched message: it must not call the
// client.
func (b *bot) onQueued(d time.Duration) {
	b.mu.Lock()
	b.queues = append(b.queues, queueSample{match: b.match, d: d})
	b.mu.Unlock()
}

// onMigrated runs with the client's lock held: it must not call the
// client.
func (b *bot) onMigrated(d time.Duration, moved bool) {
	b.mu.Lock()
	b.migs = append(b.migs, migration{at: time.Now(), d: d, drain: moved})
	b.mu.Unlock()
}

// onMessage runs on the client's read goroutine.
func (b *bot) onMessage(m *netcode.ServerMsg) {
	switch m.Type {
	case netcode.MsgMatched:
		b.matchedAt.Store(time.Now().UnixNano())
		b.self.Store(m.Matched.Entity)
		b.hitType.Store(0)
		if ev, ok := m.Matched.Info.Event("hit"); ok {
			b.hitType.Store(int32(ev.Type) + 1)
		}
		b.hitscanType.Store(0)
		if ev, ok := m.Matched.Info.Event("hitscan"); ok {
			b.hitscanType.Store(int32(ev.Type) + 1)
		}
		if a, ok := m.Matched.Info.Action("hitscan"); ok && a.Bit < 8 {
			b.hitscanBits.Or(1 << a.Bit)
		}
		b.r.tickRate.Store(int64(m.Matched.TickRate))
		b.r.seated(m.Matched.MatchID)
		b.mu.Lock()
		b.match = m.Matched.MatchID
		b.mu.Unlock()
	case netcode.MsgSnapshot:
		self, hit, scan := b.self.Load(), b.hitType.Load(), b.hitscanType.Load()
		for _, e := range m.Snapshot.Events {
			if e.A != self {
				continue
			}
			switch int32(e.Type) + 1 {
			case hit:
				b.hits.Add(1)
			case scan:
				b.hitscans.Add(1)
			}
		}
	case netcode.MsgPong:
		select {
		case b.pong <- struct{}{}:
		default:
		}
	case netcode.MsgError:
		switch {
		case m.ErrCode == netcode.ErrNotQueued && b.leaving.Load():
			return // its match ended just as it left: nothing to leave
		case m.ErrCode == netcode.ErrServerFull:
			return // counted by the client (Stats.Refused), which queues again later
		case m.ErrCode == netcode.ErrSeatExpired || m.ErrCode == netcode.ErrMatchGone:
			// A cut as the match ended, or longer than the grace: the seat
			// is gone and the client queues again. It shows in the report
			// as a reconnect that did not resume; it is no server error.
			return
		}
		b.r.fail(b.id, fmt.Errorf("server error %d %s", m.ErrCode, m.ErrText))
	}
}

// shots returns the hitscan shots of the bot's client stats s: its aimed
// presses (at a target under its crosshair in its own view) of the actions
// named "hitscan" of the matches it played.
func (b *bot) shots(s *client.Stats) int {
	bits, n := b.hitscanBits.Load(), 0
	for i := range s.AimedShots {
		if bits&(1<<i) != 0 {
			n += s.AimedShots[i]
		}
	}
	return n
}
