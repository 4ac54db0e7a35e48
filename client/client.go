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
	// LateSends counts the sends the input schedule dropped because they
	// left later than the last lead (too late for their tick: a timer or
	// the process stalled); Drains the sends it postponed to drain the
	// server's queue after an input missed its tick (see jit).
	LateSends, Drains int
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

	mu         sync.Mutex
	nodes      []*url.URL // the nodes to fall back to (Options.Nodes)
	node       int        // index in nodes of the node last connected to
	link       *link      // the current (or last) connection
	gen        int        // generation of the newest connection
	phase      Phase
	mode       string
	matched    netcode.Matched
	spec       *game.Spec
	cooldown   uint64
	ctl        Control
	world      mirror
	pending    []netcode.Input
	seq        uint32
	lastFire   uint32  // seq of the last input that fired
	hist       history // the inputs sent in the last netcode.HistoryWindow at least
	ack        uint32
	predX      float32
	predY      float32
	predOK     bool           // predX, predY hold a prediction
	self       netcode.Entity // scratch: the own avatar (a local would escape to the heap)
	unmeasured uint32         // inputs up to this seq are left out of MaxPredictionError
	stats      Stats
	matchGen   int
	jit        jit
	events     chan netcode.ServerMsg
	where      uint8     // where the welcome said the player is
	droppedAt  time.Time // when the current outage began (zero: none)
	movedAt    time.Time // when the moved being followed arrived
	lastMatch  string    // match the client was seated in when it dropped
	seatNode   string    // nodeKey of the node that last seated the player
	requeue    bool      // queued when it dropped: queue again
	queuedAt   time.Time // when queue was last sent (zero: not since the last matched)
	lostAt     time.Time // when the seat's node was lost: dropped or moved (zero: not lost)
	lostMoved  bool      // lostAt is the arrival of a moved message
}

// link is one WebSocket connection of the client, to one node.
type link struct {
	gen       int
	node      *url.URL // the node's base URL
	key       string   // nodeKey(node)
	ws        *gws.Conn
	welcome   chan struct{} // closed by its welcome
	gone      chan struct{} // closed when it closes before its welcome
	welcomed  bool
	ended     bool      // its close was handled
	abandoned bool      // connect gave up on it: its frames are ignored
	code      uint16    // its close code, once ended
	moved     *url.URL  // the node a moved message sent the player to
	movedAt   time.Time // when that moved message arrived
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
		opts:   opts,
		nodes:  nodes,
		node:   at,
		local:  local,
		reader: netcode.NewReader(),
		closed: make(chan struct{}),
		events: make(chan netcode.ServerMsg, 16),
	}
	// Every frame goes out on the connection it was meant for: one sent
	// just before a drop must not reach the next connection before its
	// hello.
	c.out = newDelayLine(opts.Latency, cloneFrame, func(f frame) {
		_ = f.ws.WriteMessage(gws.OpcodeBinary, f.b)
	})
	c.in = newDelayLine(opts.Latency, cloneFrame, func(f frame) {
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

// maxHops bounds the moved messages followed in a row at once, without a
// welcome in between; more go on with the reconnect backoff.
const maxHops = 4

// movedCloseWait is how long the client waits, after a moved message, for
// the server to close the connection before it closes it itself.
const movedCloseWait = time.Second

// movedError: the connection was moved (to the node at to) before its
// welcome.
type movedError struct{ to *url.URL }

func (e *movedError) Error() string { return "connect: moved to " + e.to.String() }

// createSession creates a guest session at the node at base.
func (c *Client) createSession(ctx context.Context, base *url.URL) error {
	body, _ := json.Marshal(map[string]string{"name": c.opts.Name})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sessionsURL(base), bytes.NewReader(body))
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
	c.mu.Lock()
	c.token, c.PlayerID, c.Name = s.Token, s.PlayerID, s.Name
	c.mu.Unlock()
	return nil
}

// errUnauthorized: the server does not know the token (it restarted
// without a session store).
var errUnauthorized = errors.New("client: token refused")

// connect opens a WebSocket to the node at base with the client's token
// and completes the hello/welcome handshake. A connection moved before its
// welcome returns a *movedError.
func (c *Client) connect(ctx context.Context, base *url.URL) error {
	_, err := c.connectLink(ctx, base)
	return err
}

// connectLink is connect, returning the new connection.
func (c *Client) connectLink(ctx context.Context, base *url.URL) (*link, error) {
	hdr := http.Header{}
	if c.opts.Origin != "" {
		hdr.Set("Origin", c.opts.Origin)
	}
	c.mu.Lock()
	c.gen++
	l := &link{gen: c.gen, node: base, key: nodeKey(base), welcome: make(chan struct{}), gone: make(chan struct{})}
	c.link = l
	token := c.token
	c.mu.Unlock()
	conn, resp, err := gws.NewClient(&events{c: c, gen: l.gen}, &gws.ClientOption{
		Addr:               wsURL(base, token),
		RequestHeader:      hdr,
		ReadMaxPayloadSize: 1 << 20,
		HandshakeTimeout:   5 * time.Second,
		NewDialer:          newWSDialer(ctx, c.local),
	})
	if err != nil {
		if resp != nil {
			if resp.StatusCode == http.StatusUnauthorized {
				return nil, errUnauthorized
			}
			return nil, fmt.Errorf("connect: %s", resp.Status)
		}
		return nil, fmt.Errorf("connect: %w", err)
	}
	c.mu.Lock()
	l.ws = conn
	hello := netcode.AppendHello(nil, netcode.Version, netcode.Version)
	c.stats.BytesUp += int64(len(hello))
	c.mu.Unlock()
	c.out.push(frame{ws: conn, b: hello}) // first on the new connection
	c.cur.Store(l)
	go conn.ReadLoop()
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	var fail error
	select {
	case <-l.welcome:
		return l, nil
	case <-l.gone:
		c.mu.Lock()
		code, to := l.code, l.moved
		c.mu.Unlock()
		if to != nil {
			return nil, &movedError{to: to}
		}
		return nil, fmt.Errorf("connect: closed with code %d", code)
	case <-c.closed:
		return nil, fmt.Errorf("connect: closed with code %d", c.Stats().CloseCode)
	case <-t.C:
		fail = errors.New("connect: no welcome")
	case <-ctx.Done():
		fail = ctx.Err()
	}
	c.mu.Lock()
	if l.welcomed { // just in time
		c.mu.Unlock()
		return l, nil
	}
	l.abandoned = true
	c.mu.Unlock()
	_ = conn.NetConn().Close()
	return nil, fail
}

// linkClosed handles the close of connection gen (code 0: no close frame).
// One that closes before its welcome is connect's to report. Otherwise the
// client follows a moved message at once, gives up, or reconnects in the
// background.
func (c *Client) linkClosed(gen int, code uint16) {
	c.mu.Lock()
	l := c.link
	if l == nil || l.gen != gen || l.ended {
		c.mu.Unlock()
		return
	}
	l.ended, l.code = true, code
	if !l.welcomed {
		close(l.gone)
		c.mu.Unlock()
		return
	}
	c.stats.CloseCode = code
	final := c.closing.Load() || code == uint16(netcode.CloseReplaced) || code == uint16(netcode.CloseVersion)
	// A moved message, or a close 4007 that lost its message, is no drop:
	// the client follows it whether or not it reconnects after drops.
	moved := l.moved != nil || code == uint16(netcode.CloseMoved)
	final = final || (!moved && !c.opts.Reconnect)
	if !final {
		now := time.Now()
		if c.phase != PhaseReconnecting { // else it is still getting back the seat it had
			c.lastMatch = ""
			if c.phase == PhasePlaying {
				c.lastMatch = c.matched.MatchID
				c.lostAt, c.lostMoved = now, moved
				if !l.movedAt.IsZero() {
					c.lostAt = l.movedAt
				}
			}
			c.requeue = c.phase == PhaseQueued
			c.phase = PhaseReconnecting
			c.matchGen++ // end the input schedule; pending inputs are kept
		}
		if moved {
			c.movedAt = now
			if l.moved != nil {
				c.stats.Moved++
			}
		} else {
			c.stats.Disconnects++
			if c.droppedAt.IsZero() {
				c.droppedAt = now
			}
		}
	}
	to := l.moved
	c.mu.Unlock()
	if final {
		c.markClosed()
		return
	}
	go c.reconnect(to, moved)
}

// nextNode returns the node after the one last connected to (round robin).
func (c *Client) nextNode() *url.URL {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.node = (c.node + 1) % len(c.nodes)
	return c.nodes[c.node]
}

// reconnect gets a connection back until connected or closed. After a
// moved message (moved) it goes to that node (to; the next node if nil) at
// once; after a drop, or if that fails, it tries the nodes round robin,
// starting with the one after the node that dropped, with exponential
// backoff and jitter. It follows the moved messages of the nodes it
// reaches.
func (c *Client) reconnect(to *url.URL, moved bool) {
	backoff := 250 * time.Millisecond
	wait := !moved
	outage := !moved // counted as a disconnect
	hops := 0
	var l *link
	for {
		if wait {
			d := time.Duration(float64(backoff) * (0.8 + 0.4*rand.Float64()))
			select {
			case <-c.closed:
				return
			case <-time.After(d):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
		target := to
		if target == nil {
			target = c.nextNode()
		}
		to = nil
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var err error
		l, err = c.connectLink(ctx, target)
		if errors.Is(err, errUnauthorized) {
			// The server forgot the session (restarted without a store):
			// start over as a new guest, in the lobby.
			if err = c.createSession(ctx, target); err == nil {
				l, err = c.connectLink(ctx, target)
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
		var mv *movedError
		if errors.As(err, &mv) {
			// The node reached routes the player elsewhere: go there at
			// once, unless the nodes keep bouncing the player.
			hops++
			c.mu.Lock()
			c.stats.Moved++
			c.mu.Unlock()
			to, wait = mv.to, hops > maxHops
			continue
		}
		if !outage {
			// The node a moved message named cannot be reached: now the
			// player is cut off, as by a drop.
			if !c.opts.Reconnect {
				c.markClosed()
				return
			}
			outage = true
			c.mu.Lock()
			c.stats.Disconnects++
			if c.droppedAt.IsZero() {
				c.droppedAt = c.movedAt
			}
			c.mu.Unlock()
		}
		wait = true
	}
	c.mu.Lock()
	if i := c.nodeIndex(l.key); i >= 0 {
		c.node = i
	}
	if outage {
		c.stats.Reconnects++
	}
	// The welcome said where the player is. Seated: matched (resumed, or a
	// new match the fleet's queue seated the player in there) or
	// seat_expired follows, and may already have been handled. Queued: the
	// server kept the place. In the lobby: the seat or place is gone. A
	// connection that already closed again is the next reconnect's.
	toLobby := false
	if c.phase == PhaseReconnecting && c.link == l && !l.ended {
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

// nodeIndex returns the index in c.nodes of the node named key, or -1;
// c.mu is held.
func (c *Client) nodeIndex(key string) int {
	for i, u := range c.nodes {
		if nodeKey(u) == key {
			return i
		}
	}
	return -1
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

// send sends b on the current connection.
func (c *Client) send(b []byte) {
	l := c.cur.Load()
	if l == nil {
		return
	}
	c.mu.Lock()
	c.stats.BytesUp += int64(len(b))
	c.mu.Unlock()
	c.out.push(frame{ws: l.ws, b: b})
}

// sendLocked is send with c.mu held.
func (c *Client) sendLocked(b []byte) {
	l := c.cur.Load()
	if l == nil {
		return
	}
	c.stats.BytesUp += int64(len(b))
	c.out.push(frame{ws: l.ws, b: b})
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
	}
	if c.matched.TickRate > 0 && c.matched.EndTick > c.world.tick {
		v.TimeLeft = time.Duration(c.matched.EndTick-c.world.tick) * time.Second / time.Duration(c.matched.TickRate)
	}
	v.Entities = c.world.interpolate(v.Entities, time.Now().Add(-InterpolationDelay), c.matched.Entity)
	if self, ok := c.world.find(c.matched.Entity); ok {
		v.SelfServer = self
		v.Self = self
		v.Self.X, v.Self.Y = c.predX, c.predY
	}
	if c.world.m != nil {
		v.Score = c.world.m.Score(c.matched.Entity).Score
	}
}

// InterpolationDelay is how far in the past other entities are drawn.
const InterpolationDelay = 100 * time.Millisecond

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

// moved records that connection l's player is to go to the node at raw;
// the server closes l next, or the client does after movedCloseWait.
func (c *Client) moved(l *link, raw string) {
	u, err := parseNode(raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.stats.ProtocolErrors++
		return
	}
	if l.moved != nil {
		return
	}
	l.moved, l.movedAt = u, time.Now()
	ws := l.ws
	time.AfterFunc(movedCloseWait, func() {
		c.mu.Lock()
		open := !l.ended
		c.mu.Unlock()
		if open {
			_ = ws.NetConn().Close()
		}
	})
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
	c.lostAt = time.Time{}
	if c.link != nil {
		c.seatNode = c.link.key
	}
	if !c.queuedAt.IsZero() {
		if c.opts.OnQueued != nil {
			c.opts.OnQueued(time.Since(c.queuedAt))
		}
		c.queuedAt = time.Time{}
	}
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
	c.seq = netcode.SeatSeq(c.seq, m.AckSeq)
	c.ack, c.unmeasured = m.AckSeq, c.seq
	c.lastFire, c.predOK = 0, false
	c.hist.reset(m.TickRate) // no input of another match is ever sent again
	c.matchGen++
}

// resume takes the seat back after a reconnect or a move: the inputs the
// server settled are dropped; every input kept with a seq above the
// matched's ackSeq is sent again with its seq, in inputs frames, before any
// new input (the server applies each at most once). That may be more than
// the pending ones: a seat restored from a checkpoint goes back to the
// checkpoint's ackSeq. Prediction restarts from the full view that
// follows, with them pending again. c.mu is held.
func (c *Client) resume(m *netcode.Matched) {
	c.lastMatch = ""
	c.phase = PhasePlaying
	if c.link != nil {
		if c.seatNode != "" && c.link.key != c.seatNode {
			c.stats.Migrated++
			if c.opts.OnMigrated != nil && !c.lostAt.IsZero() {
				c.opts.OnMigrated(time.Since(c.lostAt), c.lostMoved)
			}
		}
		c.seatNode = c.link.key
	}
	c.lostAt = time.Time{}
	c.world = newMirror(&c.matched.Schema)
	c.ack = m.AckSeq
	// Pending inputs that left the history (far behind: none in practice)
	// come first, then the history's.
	lo := netcode.RingFirst(0, c.seq, uint32(len(c.hist.ring))) // the history's first
	k := 0
	for _, in := range netcode.Unacked(c.pending, m.AckSeq) {
		if in.Seq < lo {
			c.pending[k] = in
			k++
		}
	}
	c.pending = c.hist.after(c.pending[:k], m.AckSeq, c.seq)
	c.predOK = false
	c.unmeasured = c.seq // predicted before the outage: not held to the measure
	c.matchGen++
	c.jit = jit{} // the schedule restarts from the first snapshot
	c.reconnected(true)
	appendBatches(make([]byte, 0, 2048), c.pending, c.sendLocked)
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
	if s.AckSeq > c.ack && c.opts.OnAck != nil {
		for q := netcode.RingFirst(c.ack, s.AckSeq, uint32(len(c.hist.ring))); q <= s.AckSeq && q != 0; q++ {
			if si := c.hist.get(q); si != nil {
				c.opts.OnAck(now.Sub(si.at))
			}
		}
	}
	c.ack = s.AckSeq
	if err := c.world.apply(s, now); err != nil {
		c.stats.ProtocolErrors++
		return
	}
	c.jit.report(s.HasLead, s.LeadUs, s.AckSeq, c.seq, c.matched.TickRate)
	if s.HasLead {
		c.stats.LeadUs, c.stats.TargetLeadUs = s.LeadUs, int32(c.jit.target)
	}
	var ok bool
	c.self, ok = c.world.find(c.matched.Entity)
	if !ok {
		return
	}
	self := &c.self
	// A rejected input, or a respawn (the server moved the avatar), makes
	// the prediction wrong on purpose: those are not measured.
	teleported := false
	for _, r := range s.Rejects {
		teleported = teleported || r.Seq == s.AckSeq
	}
	for _, ev := range s.Events {
		teleported = teleported || (ev.Type == netcode.EventRespawn && ev.A == self.ID)
	}
	if teleported || !c.spec.CanMove(self) {
		// Inputs sent until now were predicted from a state the server
		// has since changed by itself: don't hold them to the measure.
		c.unmeasured = c.seq
	}
	if si := c.hist.get(s.AckSeq); si != nil && s.AckSeq > c.unmeasured {
		d := math.Hypot(float64(si.x-self.X), float64(si.y-self.Y))
		c.stats.MaxPredictionError = max(c.stats.MaxPredictionError, d)
	}
	// Reconcile: drop acknowledged inputs, replay the rest on the server's
	// position.
	c.pending = netcode.Unacked(c.pending, s.AckSeq)
	x, y := self.X, self.Y
	for i := range c.pending {
		x, y = c.predict(self, x, y, &c.pending[i])
	}
	if c.predOK && !teleported {
		c.stats.MaxCorrection = max(c.stats.MaxCorrection, math.Hypot(float64(x-c.predX), float64(y-c.predY)))
	}
	if !c.predOK {
		// The first snapshot of a match marks the server's tick phase: it
		// left just after a tick began. The first input goes FirstMargin
		// before the next tick (half a tick at high rates), clear of the
		// delays between that tick and this snapshot; jit refines it.
		dt := time.Second / time.Duration(max(c.matched.TickRate, 1))
		c.schedule(c.matchGen, dt, now.Add(max(dt-netcode.FirstMargin, dt/2)))
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

// schedule starts the input schedule of the match of generation gen: one
// input every dt, the first at first, on the match's scheduler (see
// sched.go). Its schedule slides so that inputs reach the server a small
// margin before the tick that applies them (see jit). c.mu is held.
func (c *Client) schedule(gen int, dt time.Duration, first time.Time) {
	schedulerFor(c.matched.MatchID).add(schedItem{at: monoNow() + int64(time.Until(first)), c: c, gen: gen, dt: dt})
}

// sendScheduled sends the input due at it.at, on the scheduler's
// goroutine, and returns when the next one is due; ok is false when the
// match of it.gen is over for the client (or the client is closed): its
// schedule ends. buf is the scheduler's scratch space.
func (c *Client) sendScheduled(it *schedItem, buf []byte) (next int64, ok bool, _ []byte) {
	c.mu.Lock()
	if c.matchGen != it.gen || c.phase != PhasePlaying {
		c.mu.Unlock()
		return 0, false, buf
	}
	what, next := c.jit.fire(it.at, monoNow(), it.dt, c.seq+1)
	if what != fireSend {
		if what == fireDrain {
			c.stats.Drains++
		} else {
			c.stats.LateSends++
		}
		c.mu.Unlock()
		return next, true, buf
	}
	l := c.cur.Load()
	now := time.Now()
	c.seq++
	in := netcode.Input{Seq: c.seq, MoveX: c.ctl.MoveX, MoveY: c.ctl.MoveY, AimX: c.ctl.AimX, AimY: c.ctl.AimY}
	if c.ctl.Fire && c.spec.FireCooldown > 0 && (c.lastFire == 0 || uint64(c.seq-c.lastFire) >= c.cooldown) {
		in.Buttons |= netcode.ButtonFire
		c.lastFire = c.seq
	}
	c.self = c.world.get(c.matched.Entity)
	c.predX, c.predY = c.predict(&c.self, c.predX, c.predY, &in)
	c.pending = append(c.pending, in)
	c.hist.put(sentInput{in: in, at: now, x: c.predX, y: c.predY})
	c.stats.InputsSent++
	buf = netcode.AppendInput(buf[:0], &in)
	if l != nil {
		c.stats.BytesUp += int64(len(buf))
	}
	c.mu.Unlock()
	if l != nil {
		c.out.push(frame{ws: l.ws, b: buf})
	}
	return next, true, buf
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
	e.c.in.push(frame{gen: e.gen, closed: true, code: code}) // after the frames before it
}

func (e *events) OnPing(s *gws.Conn, p []byte) { _ = s.WritePong(p) }
func (e *events) OnPong(*gws.Conn, []byte)     {}

func (e *events) OnMessage(_ *gws.Conn, m *gws.Message) {
	e.c.in.push(frame{gen: e.gen, b: m.Bytes()}) // handled or copied before it returns
	m.Close()
}
