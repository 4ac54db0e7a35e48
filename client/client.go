// Package client is the Go client library of Skirmish: it creates a session,
// connects, queues, sends inputs with sequence numbers at the match's tick
// rate, keeps a mirror of the world from snapshots, predicts the own avatar
// with the server's own movement code (package game) and reconciles it on
// every ack, and interpolates other entities. It also embeds the browser
// client's static files (Web).
//
// Wire encoding and decoding come from package netcode; this package has no
// protocol code of its own.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"

	"skirmish/game"
	"skirmish/netcode"
)

// Options configures a Client. The zero value works.
type Options struct {
	// Name is the player name; default: the server picks one.
	Name string
	// Latency delays every frame by this much in each direction, to test
	// prediction under a slow network.
	Latency time.Duration
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
	// the connection dropped, and whether the seat was resumed.
	OnReconnect func(d time.Duration, resumed bool)
	// LocalAddr is the IP address the client's connections (session
	// requests and WebSockets, reconnects included) leave from; empty: the
	// system's choice. It reaches only servers of its address family.
	LocalAddr string
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

// Control is what the player wants to do; the input loop samples it once
// per tick.
type Control struct {
	MoveX, MoveY float32
	Fire         bool
	AimX, AimY   float32
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
	// snapshot was reconciled.
	MaxCorrection float64
	// AckNonMonotonic counts snapshots whose ackSeq went backwards.
	AckNonMonotonic int
	// CloseCode is the close code received from the server, if any.
	CloseCode uint16
	// LeadUs is the server's last report of how early an input arrived
	// before its tick; TargetLeadUs the margin the client aims for.
	LeadUs, TargetLeadUs int32
	// Disconnects counts connections that dropped unasked; Reconnects the
	// successful reconnects; Resumed those that got the seat back.
	Disconnects, Reconnects, Resumed int
	// InputsLost counts inputs the server reported as never received.
	InputsLost int
}

// Client is one player's connection. Its methods are safe for concurrent
// use.
type Client struct {
	opts     Options
	base     *url.URL
	local    netip.Addr // Options.LocalAddr; zero: the system's choice
	PlayerID string
	Name     string
	token    string

	ws      atomic.Pointer[gws.Conn]
	reader  *netcode.Reader
	msg     netcode.ServerMsg
	out     *delayLine
	in      *delayLine
	closed  chan struct{}
	once    sync.Once
	closing atomic.Bool // Close was called

	mu         sync.Mutex
	phase      Phase
	mode       string
	matched    netcode.Matched
	spec       *game.Spec
	cooldown   uint64
	ctl        Control
	world      mirror
	pending    []netcode.Input
	seq        uint32
	lastFire   uint32 // seq of the last input that fired
	sent       [256]sentInput
	ack        uint32
	predX      float32
	predY      float32
	predOK     bool   // predX, predY hold a prediction
	unmeasured uint32 // inputs up to this seq are left out of MaxPredictionError
	stats      Stats
	matchGen   int
	jit        jit
	events     chan netcode.ServerMsg
	welcome    chan struct{} // closed by the welcome of the current connection
	where      uint8         // where the welcome said the player is
	connGen    int           // generation of the current connection
	droppedAt  time.Time     // when the current outage began (zero: none)
	lastMatch  string        // match the client was seated in when it dropped
	requeue    bool          // queued when it dropped: queue again
}

type sentInput struct {
	seq  uint32
	at   time.Time
	x, y float32
}

// Dial creates a guest session at base (http://host:port) and opens the
// game WebSocket, completing the hello/welcome handshake.
func Dial(ctx context.Context, base string, opts Options) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	local, err := parseLocalAddr(opts.LocalAddr)
	if err != nil {
		return nil, err
	}
	c := &Client{
		opts:   opts,
		base:   u,
		local:  local,
		reader: netcode.NewReader(),
		closed: make(chan struct{}),
		events: make(chan netcode.ServerMsg, 16),
	}
	c.out = newDelayLine(opts.Latency, func(b []byte) {
		if ws := c.ws.Load(); ws != nil {
			_ = ws.WriteMessage(gws.OpcodeBinary, b)
		}
	})
	c.in = newDelayLine(opts.Latency, c.handle)
	if err := c.createSession(ctx); err != nil {
		return nil, err
	}
	if err := c.connect(ctx); err != nil {
		c.markClosed()
		return nil, err
	}
	return c, nil
}

func (c *Client) createSession(ctx context.Context) error {
	body, _ := json.Marshal(map[string]string{"name": c.opts.Name})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.JoinPath("/v1/sessions").String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient(c.local).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("create session: %s", resp.Status)
	}
	var s struct{ Token, PlayerID, Name string }
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	c.token, c.PlayerID, c.Name = s.Token, s.PlayerID, s.Name
	return nil
}

// errUnauthorized: the server does not know the token (it restarted
// without a session store).
var errUnauthorized = errors.New("client: token refused")

// connect opens a WebSocket with the client's token and completes the
// hello/welcome handshake.
func (c *Client) connect(ctx context.Context) error {
	ws := *c.base
	ws.Scheme = strings.Replace(ws.Scheme, "http", "ws", 1)
	ws.Path = "/ws"
	ws.RawQuery = url.Values{"token": {c.token}}.Encode()
	hdr := http.Header{}
	if c.opts.Origin != "" {
		hdr.Set("Origin", c.opts.Origin)
	}
	c.mu.Lock()
	c.connGen++
	gen := c.connGen
	welcome := make(chan struct{})
	c.welcome = welcome
	c.mu.Unlock()
	conn, resp, err := gws.NewClient(&events{c: c, gen: gen}, &gws.ClientOption{
		Addr:               ws.String(),
		RequestHeader:      hdr,
		ReadMaxPayloadSize: 1 << 20,
		HandshakeTimeout:   5 * time.Second,
		NewDialer:          newWSDialer(ctx, c.local),
	})
	if err != nil {
		if resp != nil {
			if resp.StatusCode == http.StatusUnauthorized {
				return errUnauthorized
			}
			return fmt.Errorf("connect: %s", resp.Status)
		}
		return fmt.Errorf("connect: %w", err)
	}
	c.ws.Store(conn)
	go conn.ReadLoop()
	c.send(netcode.AppendHello(nil, netcode.Version, netcode.Version))
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-welcome:
		return nil
	case <-c.closed:
		return fmt.Errorf("connect: closed with code %d", c.Stats().CloseCode)
	case <-t.C:
		_ = conn.NetConn().Close()
		return errors.New("connect: no welcome")
	case <-ctx.Done():
		_ = conn.NetConn().Close()
		return ctx.Err()
	}
}

// dropped handles the loss of connection gen: the client gives up, or
// reconnects in the background.
func (c *Client) dropped(gen int, code uint16) {
	c.mu.Lock()
	if gen != c.connGen {
		c.mu.Unlock()
		return
	}
	c.stats.CloseCode = code
	final := c.closing.Load() || !c.opts.Reconnect || code == uint16(netcode.CloseReplaced) || code == uint16(netcode.CloseVersion)
	if !final {
		c.stats.Disconnects++
		c.droppedAt = time.Now()
		c.lastMatch = ""
		if c.phase == PhasePlaying {
			c.lastMatch = c.matched.MatchID
		}
		c.requeue = c.phase == PhaseQueued
		c.phase = PhaseReconnecting
		c.matchGen++ // stop the input loop; pending inputs are kept
	}
	c.mu.Unlock()
	if final {
		c.markClosed()
		return
	}
	go c.reconnect()
}

// reconnect retries with exponential backoff and jitter until connected
// or closed.
func (c *Client) reconnect() {
	backoff := 250 * time.Millisecond
	for {
		wait := time.Duration(float64(backoff) * (0.8 + 0.4*rand.Float64()))
		select {
		case <-c.closed:
			return
		case <-time.After(wait):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.connect(ctx)
		if errors.Is(err, errUnauthorized) {
			// The server forgot the session (restarted without a store):
			// start over as a new guest, in the lobby.
			if err = c.createSession(ctx); err == nil {
				err = c.connect(ctx)
			}
			c.mu.Lock()
			c.lastMatch = ""
			c.phase = PhaseLobby
			c.mu.Unlock()
		}
		cancel()
		if err == nil {
			break
		}
		if c.closing.Load() {
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	c.mu.Lock()
	c.stats.Reconnects++
	// The welcome said where the player is. Seated: matched (resumed) or
	// seat_expired follows, and may already have been handled. Queued: the
	// server kept the place. In the lobby: the seat or place is gone.
	toLobby := false
	if c.phase == PhaseReconnecting {
		switch c.where {
		case netcode.WhereQueued:
			c.reconnected(false)
			c.phase = PhaseQueued
		case netcode.WhereLobby:
			toLobby = true
			c.lastMatch = ""
			c.reconnected(false)
			c.phase = PhaseLobby
		}
	}
	requeue, mode := c.requeue || c.opts.Requeue, c.mode
	c.mu.Unlock()
	if toLobby && requeue && mode != "" {
		c.Queue(mode)
	}
}

// reconnected reports the end of an outage; c.mu is held.
func (c *Client) reconnected(resumed bool) {
	if c.droppedAt.IsZero() {
		return
	}
	d := time.Since(c.droppedAt)
	c.droppedAt = time.Time{}
	if resumed {
		c.stats.Resumed++
	}
	if c.opts.OnReconnect != nil {
		c.opts.OnReconnect(d, resumed)
	}
}

// Drop cuts the connection abruptly, without a close frame, as a network
// failure would (for tests and chaos runs). With Options.Reconnect the
// client then reconnects.
func (c *Client) Drop() {
	if ws := c.ws.Load(); ws != nil {
		_ = ws.NetConn().Close()
	}
}

// Queue asks to be seated in a match of mode.
func (c *Client) Queue(mode string) {
	c.mu.Lock()
	c.mode = mode
	if c.phase == PhaseLobby || c.phase == PhaseReconnecting {
		c.phase = PhaseQueued
	}
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
	if ws := c.ws.Load(); ws != nil {
		_ = ws.WriteClose(1000, nil)
		_ = ws.NetConn().Close()
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

func (c *Client) send(frame []byte) {
	c.mu.Lock()
	c.stats.BytesUp += int64(len(frame))
	c.mu.Unlock()
	c.out.push(frame)
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
	AckSeq   uint32
	// Self is the own avatar as predicted; SelfServer as last received.
	Self, SelfServer netcode.Entity
	// Entities is the last snapshot's world, interpolated for others.
	Entities []netcode.Entity
	Score    int32
	Pending  int
	// TimeLeft is the time until the match ends by the clock.
	TimeLeft time.Duration
}

// Phase returns where the client is, without View's copy of the world.
func (c *Client) Phase() Phase {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.phase
}

// View returns the client's current view, with other entities
// interpolated InterpolationDelay in the past.
func (c *Client) View() View {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := View{
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
	}
	if c.matched.TickRate > 0 && c.matched.EndTick > c.world.tick {
		v.TimeLeft = time.Duration(c.matched.EndTick-c.world.tick) * time.Second / time.Duration(c.matched.TickRate)
	}
	v.Entities = c.world.interpolate(time.Now().Add(-InterpolationDelay), c.matched.Entity)
	for _, e := range v.Entities {
		if e.ID == c.matched.Entity {
			v.SelfServer = c.world.get(e.ID)
			v.Self = v.SelfServer
			v.Self.X, v.Self.Y = c.predX, c.predY
		}
	}
	if c.world.m != nil {
		v.Score = c.world.m.Score(c.matched.Entity).Score
	}
	return v
}

// firstMargin is how long before the next tick a match's first input aims
// to arrive, before the server has reported any lead.
const firstMargin = 8 * time.Millisecond

// InterpolationDelay is how far in the past other entities are drawn.
const InterpolationDelay = 100 * time.Millisecond

// handle processes one server frame (after the injected latency).
func (c *Client) handle(frame []byte) {
	c.mu.Lock()
	c.stats.BytesDown += int64(len(frame))
	var schema *netcode.Schema
	if c.spec != nil {
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
		select {
		case <-c.welcome:
		default:
			c.where = m.Where
			close(c.welcome)
		}
		c.mu.Unlock()
	case netcode.MsgError:
		c.mu.Lock()
		// A lost seat is news only to a client that thinks it has one; one
		// already back in the lobby (and maybe queued again) ignores it.
		lost := (m.ErrCode == netcode.ErrSeatExpired || m.ErrCode == netcode.ErrMatchGone) &&
			(c.phase == PhasePlaying || c.phase == PhaseReconnecting)
		if lost {
			c.phase = PhaseLobby
			c.pending = c.pending[:0]
			c.matchGen++
			c.reconnected(false)
		}
		mode, requeue := c.mode, lost && c.opts.Requeue
		c.mu.Unlock()
		if requeue && mode != "" {
			c.Queue(mode)
		}
	case netcode.MsgMatched:
		c.onMatched(&m.Matched)
	case netcode.MsgSnapshot:
		c.onSnapshot(&m.Snapshot)
		return
	case netcode.MsgResult:
		c.mu.Lock()
		c.phase = PhaseLobby
		c.matchGen++
		c.pending = c.pending[:0]
		mode, requeue := c.mode, c.opts.Requeue
		c.mu.Unlock()
		if requeue {
			c.Queue(mode)
		}
	case netcode.MsgPong:
		return
	}
	c.emit(m)
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

func (c *Client) onMatched(m *netcode.Matched) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lastMatch != "" && m.MatchID == c.lastMatch && m.Entity == c.matched.Entity {
		c.resume(m)
		return
	}
	c.lastMatch = ""
	c.matched = *m
	c.matched.Schema.Kinds = append([]string(nil), m.Schema.Kinds...)
	c.matched.Schema.Fields = append([]netcode.Field(nil), m.Schema.Fields...)
	c.spec = game.BuiltinSpec(m.Mode)
	if c.spec == nil {
		c.spec = &game.Spec{Name: m.Mode}
	}
	c.cooldown = game.CooldownTicks(c.spec.FireCooldown, int(m.TickRate))
	c.phase = PhasePlaying
	c.stats.Matches++
	c.world = newMirror(&c.matched.Schema)
	c.jit = jit{}
	c.pending = c.pending[:0]
	// Seqs never go back within a session: the server voids every seq up
	// to matched's ackSeq, so the next input is above both it and the last
	// one sent.
	c.seq = max(c.seq, m.AckSeq)
	c.ack, c.unmeasured = m.AckSeq, c.seq
	c.lastFire, c.predOK = 0, false
	c.sent = [len(c.sent)]sentInput{}
	c.matchGen++
}

// resume takes the seat back after a reconnect: the inputs the server
// applied are dropped, the others are sent again with their seqs (the
// server applies each at most once), and prediction restarts from the full
// view that follows. c.mu is held.
func (c *Client) resume(m *netcode.Matched) {
	c.lastMatch = ""
	c.phase = PhasePlaying
	c.world = newMirror(&c.matched.Schema)
	c.ack = m.AckSeq
	n := 0
	for _, in := range c.pending {
		if in.Seq > m.AckSeq {
			c.pending[n] = in
			n++
		}
	}
	c.pending = c.pending[:n]
	c.predOK = false
	c.matchGen++
	c.jit = jit{} // the schedule restarts from the first snapshot
	c.reconnected(true)
	buf := make([]byte, 0, 64)
	for i := range c.pending {
		buf = netcode.AppendInput(buf[:0], &c.pending[i])
		c.stats.BytesUp += int64(len(buf))
		c.out.push(buf)
	}
}

func (c *Client) onSnapshot(s *netcode.Snapshot) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.phase != PhasePlaying {
		return
	}
	c.stats.Snapshots++
	c.stats.Rejected += len(s.Rejects)
	for _, r := range s.Rejects {
		if r.Code == netcode.RejectMissing {
			c.stats.InputsLost++
		}
	}
	if s.AckSeq < c.ack {
		c.stats.AckNonMonotonic++
	}
	if s.AckSeq > c.ack {
		lo := c.ack + 1
		if ring := uint32(len(c.sent)); s.AckSeq >= ring {
			lo = max(lo, s.AckSeq-ring+1) // older ones left the ring
		}
		for q := lo; q <= s.AckSeq && q != 0; q++ {
			if si := &c.sent[q%uint32(len(c.sent))]; si.seq == q && c.opts.OnAck != nil {
				c.opts.OnAck(now.Sub(si.at))
			}
		}
	}
	c.ack = s.AckSeq
	if err := c.world.apply(s, now); err != nil {
		c.stats.ProtocolErrors++
		return
	}
	if s.HasLead {
		c.jit.observe(s.LeadUs, s.AckSeq, c.matched.TickRate)
		c.stats.LeadUs, c.stats.TargetLeadUs = s.LeadUs, int32(c.jit.target)
	}
	self, ok := c.world.find(c.matched.Entity)
	if !ok {
		return
	}
	// A rejected input, or a respawn (the server moved the avatar), makes
	// the prediction wrong on purpose: those are not measured.
	teleported := false
	for _, r := range s.Rejects {
		teleported = teleported || r.Seq == s.AckSeq
	}
	for _, ev := range s.Events {
		teleported = teleported || (ev.Type == netcode.EventRespawn && ev.A == self.ID)
	}
	if teleported || !c.spec.CanMove(&self) {
		// Inputs sent until now were predicted from a state the server
		// has since changed by itself: don't hold them to the measure.
		c.unmeasured = c.seq
	}
	if si := &c.sent[s.AckSeq%uint32(len(c.sent))]; si.seq == s.AckSeq && s.AckSeq > c.unmeasured {
		d := math.Hypot(float64(si.x-self.X), float64(si.y-self.Y))
		c.stats.MaxPredictionError = max(c.stats.MaxPredictionError, d)
	}
	// Reconcile: drop acknowledged inputs, replay the rest on the server's
	// position.
	n := 0
	for _, in := range c.pending {
		if in.Seq > s.AckSeq {
			c.pending[n] = in
			n++
		}
	}
	c.pending = c.pending[:n]
	x, y := self.X, self.Y
	for i := range c.pending {
		x, y = c.predict(&self, x, y, &c.pending[i])
	}
	if c.predOK && !teleported {
		c.stats.MaxCorrection = max(c.stats.MaxCorrection, math.Hypot(float64(x-c.predX), float64(y-c.predY)))
	}
	if !c.predOK {
		// The first snapshot of a match marks the server's tick phase: it
		// left just after a tick began. The first input goes firstMargin
		// before the next tick (half a tick at high rates), clear of the
		// delays between that tick and this snapshot; jit refines it.
		dt := time.Second / time.Duration(max(c.matched.TickRate, 1))
		go c.inputLoop(c.matchGen, dt, now.Add(max(dt-firstMargin, dt/2)))
	}
	c.predX, c.predY, c.predOK = x, y, true
}

// predict applies in to the avatar at (x, y) with the server's movement
// rule; c.mu is held.
func (c *Client) predict(self *netcode.Entity, x, y float32, in *netcode.Input) (float32, float32) {
	if !c.spec.CanMove(self) || !game.ValidDirection(in.MoveX, in.MoveY) ||
		(in.Fire() && c.spec.FireCooldown > 0 && !game.ValidAim(in.AimX, in.AimY)) {
		return x, y // the server rejects it whole
	}
	dt := 1 / float32(c.matched.TickRate)
	return game.Move(x, y, in.MoveX, in.MoveY, c.spec.Speed, dt, c.matched.WorldW, c.matched.WorldH)
}

// inputLoop sends one input per tick while the match of generation gen
// lasts. Its schedule slides so that inputs reach the server a small margin
// before the tick that applies them (see jit).
func (c *Client) inputLoop(gen int, dt time.Duration, first time.Time) {
	t := time.NewTimer(time.Until(first))
	defer t.Stop()
	next := first
	buf := make([]byte, 0, 64)
	for {
		select {
		case <-c.closed:
			return
		case <-t.C:
		}
		c.mu.Lock()
		if c.matchGen != gen || c.phase != PhasePlaying {
			c.mu.Unlock()
			return
		}
		// The shift moves the next send: the input after the one sent now.
		next = next.Add(dt + c.jit.take(dt, c.seq+2))
		if now := time.Now(); next.Before(now) { // far behind: don't burst
			next = now
		}
		t.Reset(time.Until(next))
		c.seq++
		in := netcode.Input{Seq: c.seq, MoveX: c.ctl.MoveX, MoveY: c.ctl.MoveY, AimX: c.ctl.AimX, AimY: c.ctl.AimY}
		if c.ctl.Fire && c.spec.FireCooldown > 0 && (c.lastFire == 0 || uint64(c.seq-c.lastFire) >= c.cooldown) {
			in.Buttons |= netcode.ButtonFire
			c.lastFire = c.seq
		}
		self := c.world.get(c.matched.Entity)
		c.predX, c.predY = c.predict(&self, c.predX, c.predY, &in)
		c.pending = append(c.pending, in)
		c.sent[in.Seq%uint32(len(c.sent))] = sentInput{seq: in.Seq, at: time.Now(), x: c.predX, y: c.predY}
		c.stats.InputsSent++
		c.mu.Unlock()
		buf = netcode.AppendInput(buf[:0], &in)
		c.send(buf)
	}
}

// Ping sends a ping; the pong is handled silently.
func (c *Client) Ping() { c.send(netcode.AppendPing(nil, float64(time.Now().UnixMilli()))) }

// events is the gws event handler of one of the client's connections.
type events struct {
	c   *Client
	gen int
}

func (e *events) OnOpen(*gws.Conn) {}

func (e *events) OnClose(_ *gws.Conn, err error) {
	var code uint16
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		code = ce.Code
	}
	e.c.dropped(e.gen, code)
}

func (e *events) OnPing(s *gws.Conn, p []byte) { _ = s.WritePong(p) }
func (e *events) OnPong(*gws.Conn, []byte)     {}

func (e *events) OnMessage(_ *gws.Conn, m *gws.Message) {
	e.c.in.push(m.Bytes()) // handled or copied before it returns
	m.Close()
}
