// Package client is the Go client library of Skirmish: it creates a session,
// connects, queues, sends inputs with sequence numbers at the match's tick
// rate, keeps a mirror of the world from snapshots, predicts the own avatar
// with the server's own movement code (package game) and reconciles it on
// every ack, and interpolates other entities. In a fleet it follows moved
// messages to the node that holds the player's seat, falls back over the
// nodes it was given when its connection drops, and keeps the inputs of
// the last 3 s to resend those a seat restored from a checkpoint lacks. It
// also embeds the browser client's static files (Web).
//
// Wire encoding and decoding come from package netcode; this package has no
// protocol code of its own.
package client

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
	"skirmish/netcode"
)

// Options configures a Client. The zero value works.
type Options struct {
	// Name is the player name; default: the server picks one.
	Name string
	// Latency delays every frame by this much in each direction, to test
	// prediction under a slow network.
	Latency time.Duration
	// Jitter varies each frame's delay: it is Latency plus a value drawn
	// uniformly from [-Jitter, +Jitter] (never below 0), in each
	// direction; frames are never reordered (a TCP connection delivers in
	// order: a frame drawn earlier than the one before it waits for it).
	Jitter time.Duration
	// Requeue queues again for the same mode when a match ends.
	Requeue bool
	// OnAck is called with the time from sending an input to the first
	// snapshot that acknowledges it.
	OnAck func(d time.Duration)
	// OnMessage, if set, sees every decoded server message (on the read
	// goroutine; m is reused after it returns).
	OnMessage func(m *netcode.ServerMsg)
	// Origin is sent as the WebSocket Origin header, if set.
	Origin string
	// Reconnect makes the client reconnect by itself when its connection
	// drops (exponential backoff with jitter: 250 ms doubling to 5 s),
	// keeping its unacknowledged inputs and resuming its seat.
	Reconnect bool
	// OnReconnect, if set, is called after a reconnect with the time since
	// the connection dropped, and whether the seat was resumed (not after
	// following a moved message, which is no drop). It runs with the
	// client's lock held: it must not call the client.
	OnReconnect func(d time.Duration, resumed bool)
	// OnQueued, if set, is called when a matched message seats the player
	// in a new match (not a resume) with the time since the client last
	// sent queue (through the moved messages and reconnects in between).
	// It runs with the client's lock held: it must not call the client.
	OnQueued func(d time.Duration)
	// OnMigrated, if set, is called when a seat is resumed on another node
	// than the one that held it (Stats.Migrated) with the time since the
	// client lost that node: since the moved message it followed (moved:
	// the node drained), or since its connection dropped (moved false:
	// the node died, or the network failed). It runs with the client's
	// lock held: it must not call the client.
	OnMigrated func(d time.Duration, moved bool)
	// LocalAddr is the IP address the client's connections (session
	// requests and WebSockets, reconnects included) leave from; empty: the
	// system's choice. It reaches only servers of its address family.
	LocalAddr string
	// Nodes are the base URLs of the fleet's nodes (http://127.0.0.1:8081,
	// or behind a proxy https://game.example.com/n/n1). Dial's base URL is
	// the first node used, whether or not it is listed. When a connection
	// drops (Reconnect), the client tries them round robin with its
	// backoff, starting with the one after the node that dropped: any live
	// node routes the player to their seat. A moved message is followed to
	// its URL at once, listed or not. Empty: Dial's base URL only.
	Nodes []string
}

// Phase is where a client is in its life.
type Phase int

// Phases.
const (
	PhaseLobby Phase = iota
	PhaseQueued
	PhasePlaying
	// PhaseReconnecting: the connection dropped; the client is getting it
	// back (Options.Reconnect).
	PhaseReconnecting
	PhaseClosed
)

// Control is what the player wants to do; the input schedule samples it once
// per tick. Actions are the mode's, as matched declares them
// (netcode.ModeInfo.Actions): an input presses a wanted action only when
// its cooldown allows, so that the server never rejects it for that, and
// never presses a bit the mode does not declare.
type Control struct {
	MoveX, MoveY float32
	// Fire wants the mode's action named "fire", if it declares one.
	Fire bool
	// Buttons wants the actions of these bits (netcode.Action.Bit).
	Buttons    uint8
	AimX, AimY float32
	// AimAt, if not 0, is the entity to aim at: an input that presses an
	// aimed action aims from the avatar's predicted position at that
	// entity as the client draws it when the input is sent (at the input's
	// view time), instead of AimX, AimY. Such a press counts in
	// Stats.AimedShots when the ray passes within the target's radius of
	// its drawn position. When the target cannot be aimed at (it is not
	// drawn at the input's view time, it stands on the avatar, or it is
	// dead in the newest snapshot: the mode's immobility rule holds for
	// it), the input presses none of the aimed actions, and their
	// cooldowns are given back so the next input may press them. A new
	// match (matched of another match) resets AimAt to 0: its entity ids
	// are not the last match's.
	AimAt uint32
}

// Stats are a client's counters.
type Stats struct {
	Snapshots      int
	BytesDown      int64
	BytesUp        int64
	InputsSent     int
	Rejected       int
	Matches        int
	ProtocolErrors int
	// MaxPredictionError is the largest distance between where the client
	// predicted its avatar after an input and where the server put it.
	MaxPredictionError float64
	// MaxCorrection is the largest jump of the predicted avatar when a
	// snapshot was reconciled (but for the jumps the server made by
	// itself: a teleport, a rejected input, a death or revival).
	MaxCorrection float64
	// AckNonMonotonic counts snapshots whose ackSeq went backwards.
	AckNonMonotonic int
	// CloseCode is the close code received from the server, if any.
	CloseCode uint16
	// LeadUs is the server's last report of how early an input arrived
	// before its tick; TargetLeadUs the margin the client aims for.
	LeadUs, TargetLeadUs int32
	// Disconnects counts connections that dropped unasked; Reconnects the
	// successful reconnects; Resumed those that got the seat back (maybe
	// on another node, after moved messages). A connection closed to
	// follow a moved message (close 4007) is none of these: it counts in
	// Moved, and a seat it resumed in Migrated only.
	Disconnects, Reconnects, Resumed int
	// Moved counts the moved messages followed: connections the server
	// sent to another node (its seat's host, or any node when it drains).
	Moved int
	// Migrated counts the seats resumed on another node than the one that
	// held them before: after their node died (and the match was adopted
	// from a checkpoint) or drained.
	Migrated int
	// InputsLost counts inputs the server reported as never received.
	InputsLost int
	// Refused counts queue requests the server refused as full
	// (server_full): with Requeue, the client asks again after a backoff.
	Refused int
	// LateSends counts the sends the input schedule dropped because they
	// left later than the last lead (too late for their tick: a timer or
	// the process stalled); Drains the sends it postponed to drain the
	// server's queue after an input missed its tick (see jit).
	LateSends, Drains int
	// Frames counts the views taken (View, ViewInto) while playing, once
	// the snapshots of the view first reached around the render time (the
	// buffer of a new match or resumed seat filled); EmptyBuffer those
	// whose render time had no pair of snapshots around it (others were
	// held at the newest or oldest one).
	// InterpDelay holds, per frame, how far the render time was behind
	// the newest snapshot.
	Frames, EmptyBuffer int
	InterpDelay         DelayHist
	// CorrectionsOver1u counts the reconciliations that moved the
	// predicted avatar by more than 1 unit; like MaxCorrection, it leaves
	// out the jumps the server made by itself (a teleport, a rejected
	// input, a death or revival).
	CorrectionsOver1u int
	// AimedShots counts, by action bit, the inputs sent that pressed an
	// aimed action at Control.AimAt's entity and whose ray passed within
	// its radius at its drawn position.
	AimedShots [8]int
}

// DelayHistLen is the number of 1 ms buckets of a DelayHist.
const DelayHistLen = 512

// DelayHist counts delays in 1 ms buckets: bucket i those in [i, i+1) ms,
// the last one those from DelayHistLen-1 ms on. Adding a sample or
// merging histograms allocates nothing.
type DelayHist [DelayHistLen]uint32

// add counts the delay of ms milliseconds (negative counts as 0).
func (h *DelayHist) add(ms float64) {
	i := 0
	if ms > 0 {
		i = int(min(ms, DelayHistLen-1))
	}
	h[i]++
}

// Add adds the counts of o to h.
func (h *DelayHist) Add(o *DelayHist) {
	for i := range h {
		h[i] += o[i]
	}
}

// Count returns the number of samples.
func (h *DelayHist) Count() int {
	n := 0
	for _, v := range h {
		n += int(v)
	}
	return n
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) in
// ms, as the middle of its bucket; 0 without samples.
func (h *DelayHist) Percentile(p float64) float64 {
	n := h.Count()
	if n == 0 {
		return 0
	}
	rank := min(max(int(math.Ceil(p/100*float64(n))), 1), n)
	for i, v := range h {
		if rank -= int(v); rank <= 0 {
			return float64(i) + 0.5
		}
	}
	return DelayHistLen - 0.5
}

// Client is one player's connection. Its methods are safe for concurrent
// use.
type Client struct {
	opts     Options
	local    netip.Addr // Options.LocalAddr; zero: the system's choice
	PlayerID string
	Name     string
	token    string

	cur     atomic.Pointer[link] // the current connection, for writes
	reader  *netcode.Reader
	msg     netcode.ServerMsg
	out     *delayLine[frame]
	in      *delayLine[frame]
	closed  chan struct{}
	once    sync.Once
	closing atomic.Bool // Close was called

	events chan netcode.ServerMsg
	now    func() time.Time // the clock views are drawn by; nil: time.Now (tests set it)

	// mu guards what follows: one lock, since a snapshot moves the
	// prediction, the input schedule and the phase together, and a drop
	// ends the schedule. Each job keeps its state in its own type.
	mu         sync.Mutex
	phase      Phase
	mode       string          // the mode last queued for
	queuedAt   time.Time       // when queue was last sent (zero: not since the last matched)
	fullTries  int             // server_full refusals since the last matched (refusedFull)
	matched    netcode.Matched // with its mode's declaration: all the client knows of the mode
	seated     bool            // matched was received: snapshots can be read
	world      mirror
	stats      Stats
	connState  // the connections and reconnects (link.go)
	inputs     // the input schedule (inputs.go)
	prediction // the own avatar predicted (predict.go)
}

// Dial creates a guest session at base (http://host:port, maybe with a
// path prefix) and opens the game WebSocket there, completing the
// hello/welcome handshake (and following moved messages).
func Dial(ctx context.Context, base string, opts Options) (*Client, error) {
	u, err := parseNode(base)
	if err != nil {
		return nil, err
	}
	nodes, at, err := nodeRing(u, opts.Nodes)
	if err != nil {
		return nil, err
	}
	local, err := parseLocalAddr(opts.LocalAddr)
	if err != nil {
		return nil, err
	}
	c := &Client{
		opts:      opts,
		connState: connState{nodes: nodes, node: at},
		local:     local,
		reader:    netcode.NewReader(),
		closed:    make(chan struct{}),
		events:    make(chan netcode.ServerMsg, 16),
	}
	// Every frame goes out on the connection it was meant for: one sent
	// just before a drop must not reach the next connection before its
	// hello.
	c.out = newDelayLine(opts.Latency, opts.Jitter, cloneFrame, func(f frame) {
		_ = f.ws.WriteMessage(gws.OpcodeBinary, f.b)
	})
	c.in = newDelayLine(opts.Latency, opts.Jitter, cloneFrame, func(f frame) {
		if f.closed {
			c.linkClosed(f.gen, f.code)
		} else {
			c.handle(f.gen, f.b)
		}
	})
	if err := c.createSession(ctx, u); err != nil {
		return nil, err
	}
	err = c.connect(ctx, u)
	for hops := 0; err != nil && hops < maxHops; hops++ {
		var mv *movedError
		if !errors.As(err, &mv) {
			break
		}
		c.mu.Lock()
		c.stats.Moved++
		c.mu.Unlock()
		err = c.connect(ctx, mv.to)
	}
	if err != nil {
		c.markClosed()
		return nil, err
	}
	return c, nil
}

// Drop cuts the connection abruptly, without a close frame, as a network
// failure would (for tests and chaos runs). With Options.Reconnect the
// client then reconnects.
func (c *Client) Drop() {
	if l := c.cur.Load(); l != nil {
		_ = l.ws.NetConn().Close()
	}
}

// Node returns the base URL of the node of the client's connection (while
// it reconnects: of its last attempt).
func (c *Client) Node() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.link == nil {
		return ""
	}
	return c.link.node.String()
}

// Queue asks to be seated in a match of mode.
func (c *Client) Queue(mode string) {
	c.mu.Lock()
	c.mode = mode
	if c.phase == PhaseLobby || c.phase == PhaseReconnecting {
		c.phase = PhaseQueued
	}
	c.queuedAt = time.Now()
	c.mu.Unlock()
	c.send(netcode.AppendQueue(nil, mode))
}

// Leave leaves the queue or the match.
func (c *Client) Leave() { c.send(netcode.AppendLeave(nil)) }

// SetControl sets what the next inputs do.
func (c *Client) SetControl(ctl Control) {
	c.mu.Lock()
	c.ctl = ctl
	c.mu.Unlock()
}

// Events delivers welcome, matched, result and error messages (not
// snapshots). If nobody reads, the oldest are dropped.
func (c *Client) Events() <-chan netcode.ServerMsg { return c.events }

// Done is closed when the connection is gone.
func (c *Client) Done() <-chan struct{} { return c.closed }

// Close closes the connection for good.
func (c *Client) Close() {
	c.closing.Store(true)
	if l := c.cur.Load(); l != nil {
		_ = l.ws.WriteClose(1000, nil)
		_ = l.ws.NetConn().Close()
	}
	c.markClosed()
}

func (c *Client) markClosed() {
	c.once.Do(func() {
		c.mu.Lock()
		c.phase = PhaseClosed
		c.mu.Unlock()
		close(c.closed)
		if c.out != nil {
			c.out.stop()
			c.in.stop()
		}
	})
}

// Stats returns a copy of the client's counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// View is a consistent copy of what the client knows.
type View struct {
	Phase    Phase
	MatchID  string
	Mode     string
	Entity   uint32
	TickRate int
	WorldW   float32
	WorldH   float32
	Tick     uint32
	// RenderTick and RenderFrac are the render time of Entities: others
	// are drawn RenderFrac of the way from their state at tick RenderTick
	// to the next tick's (the view time the client's aimed inputs carry).
	// InterpDelay is how far that is behind the newest snapshot, and
	// EmptyBuffer whether no pair of snapshots was around it.
	RenderTick  uint32
	RenderFrac  float32
	InterpDelay time.Duration
	EmptyBuffer bool
	AckSeq      uint32
	// Self is the own avatar as predicted; SelfServer as last received.
	Self, SelfServer netcode.Entity
	// Entities is the last snapshot's world, interpolated for others.
	Entities []netcode.Entity
	Score    int32
	Pending  int
	// TimeLeft is the time until the match ends by the clock.
	TimeLeft time.Duration
	// Schema and Info are the mode as matched declared it: its kinds
	// (with render hints), fields, actions, events, teams and movement.
	// Their slices are shared and must not be modified.
	Schema netcode.Schema
	Info   netcode.ModeInfo
}

// Phase returns where the client is, without View's copy of the world.
func (c *Client) Phase() Phase {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.phase
}

// View returns the client's current view, with other entities
// interpolated at the render time (see interpClock: about two snapshot
// intervals plus the arrival jitter behind the newest snapshot).
func (c *Client) View() View {
	var v View
	c.ViewInto(&v)
	return v
}

// ViewInto is View into v, reusing the space of v.Entities: a caller that
// keeps its View allocates nothing once it has room for the entities.
func (c *Client) ViewInto(v *View) {
	c.mu.Lock()
	defer c.mu.Unlock()
	*v = View{
		Phase:    c.phase,
		MatchID:  c.matched.MatchID,
		Mode:     c.matched.Mode,
		Entity:   c.matched.Entity,
		TickRate: int(c.matched.TickRate),
		WorldW:   c.matched.WorldW,
		WorldH:   c.matched.WorldH,
		Tick:     c.world.tick,
		AckSeq:   c.ack,
		Pending:  len(c.pending),
		Entities: v.Entities[:0],
		Schema:   c.matched.Schema,
		Info:     c.matched.Info,
	}
	if c.matched.TickRate > 0 && c.matched.EndTick > c.world.tick {
		v.TimeLeft = time.Duration(c.matched.EndTick-c.world.tick) * time.Second / time.Duration(c.matched.TickRate)
	}
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	rt, ok := c.world.clock.advance(now())
	var d drawn
	v.Entities, d = c.world.interpolate(v.Entities, rt, c.matched.Entity)
	c.world.clock.primed = c.world.clock.primed || (ok && d.ok && !d.empty)
	if ok && d.ok && c.phase == PhasePlaying && c.world.clock.primed {
		v.RenderTick, v.RenderFrac = d.viewTime()
		v.EmptyBuffer = d.empty
		delay := (float64(c.world.tick) - rt) * c.world.clock.dt
		v.InterpDelay = time.Duration(max(delay, 0))
		c.stats.Frames++
		c.stats.InterpDelay.add(delay / float64(time.Millisecond))
		if d.empty {
			c.stats.EmptyBuffer++
		}
	}
	if self, ok := c.world.find(c.matched.Entity); ok {
		v.SelfServer = self
		v.Self = self
		v.Self.X, v.Self.Y = c.predX, c.predY
	}
	if c.world.m != nil {
		v.Score = c.world.m.Score(c.matched.Entity).Score
	}
}

// Score returns what the client knows of the player whose avatar is
// entity: their score, whether they are away, and their name (the server
// names each player once per view; see netcode.Score).
func (c *Client) Score(entity uint32) netcode.Score {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.world.m == nil {
		return netcode.Score{}
	}
	return c.world.m.Score(entity)
}

// handle processes one server frame of connection gen (after the injected
// latency).
func (c *Client) handle(gen int, frame []byte) {
	c.mu.Lock()
	l := c.link
	if l == nil || l.gen != gen || l.abandoned || l.ended {
		c.mu.Unlock()
		return // a connection the client is done with
	}
	c.stats.BytesDown += int64(len(frame))
	var schema *netcode.Schema
	if c.seated {
		schema = &c.matched.Schema
	}
	c.mu.Unlock()
	m := &c.msg
	if err := c.reader.DecodeServer(frame, m, schema); err != nil {
		c.mu.Lock()
		c.stats.ProtocolErrors++
		c.mu.Unlock()
		return
	}
	if c.opts.OnMessage != nil {
		c.opts.OnMessage(m)
	}
	switch m.Type {
	case netcode.MsgWelcome:
		c.mu.Lock()
		if !l.welcomed {
			l.welcomed = true
			c.where = m.Where
			close(l.welcome)
		}
		c.mu.Unlock()
	case netcode.MsgMoved:
		c.moved(l, m.URL)
	case netcode.MsgError:
		c.mu.Lock()
		// A lost seat is news only to a client that thinks it has one; one
		// already back in the lobby (and maybe queued again) ignores it.
		lost := (m.ErrCode == netcode.ErrSeatExpired || m.ErrCode == netcode.ErrMatchGone) &&
			(c.phase == PhasePlaying || c.phase == PhaseReconnecting)
		var again string
		if lost {
			again = c.toLobby(false)
		}
		if m.ErrCode == netcode.ErrServerFull {
			c.refusedFull()
		}
		c.mu.Unlock()
		c.queueAgain(again)
	case netcode.MsgMatched:
		c.onMatched(&m.Matched)
	case netcode.MsgSnapshot:
		c.onSnapshot(&m.Snapshot)
		return
	case netcode.MsgResult:
		c.mu.Lock()
		again := c.toLobby(false)
		c.mu.Unlock()
		c.queueAgain(again)
	case netcode.MsgPong:
		return
	}
	c.emit(m)
}

// toLobby puts the client back in the lobby: its match ended, or its seat
// or place in a queue is gone. The match's input schedule ends and its
// pending inputs are dropped; an outage, if one was on, is over. It
// returns the mode to queue for again (Options.Requeue, or again: the
// client was queued when its connection dropped), or "": the caller
// passes it to queueAgain once c.mu is released. c.mu is held.
func (c *Client) toLobby(again bool) string {
	c.phase = PhaseLobby
	c.lastMatch = ""
	c.pending = c.pending[:0]
	c.matchGen++
	c.reconnected(false)
	if again || c.opts.Requeue {
		return c.mode
	}
	return ""
}

// fullBackoff is how long a client refused as full (server_full) waits
// before it queues again: the first wait, doubling up to fullBackoffMax,
// each ±20%.
const (
	fullBackoff    = 500 * time.Millisecond
	fullBackoffMax = 10 * time.Second
)

// refusedFull handles a queue the server refused as full: the player is in
// the lobby, not queued. With Requeue, the client queues again after a
// backoff that grows while the server stays full, unless it was queued,
// seated or closed meanwhile. c.mu is held.
func (c *Client) refusedFull() {
	c.stats.Refused++
	if c.phase == PhaseQueued {
		c.phase = PhaseLobby
	}
	if !c.opts.Requeue || c.mode == "" {
		return
	}
	d := min(fullBackoff<<min(c.fullTries, 8), fullBackoffMax)
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	c.fullTries++
	mode, tries := c.mode, c.fullTries
	time.AfterFunc(d, func() {
		c.mu.Lock()
		again := c.phase == PhaseLobby && c.fullTries == tries && !c.closing.Load()
		c.mu.Unlock()
		if again {
			c.Queue(mode)
		}
	})
}

// queueAgain queues for mode, if any (see toLobby); c.mu is not held.
func (c *Client) queueAgain(mode string) {
	if mode != "" {
		c.Queue(mode)
	}
}

func (c *Client) emit(m *netcode.ServerMsg) {
	ev := *m
	ev.Snapshot = netcode.Snapshot{}
	ev.Standings = append([]netcode.Standing(nil), m.Standings...)
	for {
		select {
		case c.events <- ev:
			return
		default:
			select { // drop the oldest
			case <-c.events:
			default:
			}
		}
	}
}

// Ping sends a ping; the pong is handled silently.
func (c *Client) Ping() { c.send(netcode.AppendPing(nil, float64(time.Now().UnixMilli()))) }
