package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/lxzan/gws"
	"skirmish/netcode"
)

// connState is the client's connections: the current one, the nodes to
// fall back to, and what an outage must remember to resume the seat. The
// Client's mu guards it.
type connState struct {
	nodes     []*url.URL // the nodes to fall back to (Options.Nodes)
	node      int        // index in nodes of the node last connected to
	link      *link      // the current (or last) connection
	gen       int        // generation of the newest connection
	where     uint8      // where the welcome said the player is
	droppedAt time.Time  // when the current outage began (zero: none)
	movedAt   time.Time  // when the moved being followed arrived
	lastMatch string     // match the client was seated in when it dropped
	seatNode  string     // nodeKey of the node that last seated the player
	requeue   bool       // queued when it dropped: queue again
	lostAt    time.Time  // when the seat's node was lost: dropped or moved (zero: not lost)
	lostMoved bool       // lostAt is the arrival of a moved message
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
		if resp.StatusCode == http.StatusServiceUnavailable {
			return fmt.Errorf("create session: %w (%s)", ErrUnavailable, resp.Status)
		}
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

// ErrUnavailable: the server refused a new session or connection for now
// (HTTP 503: server_full, overloaded or at -max-players; or its session
// store unavailable, or shutting down). Dial returns it wrapped: try again
// later, or another node.
var ErrUnavailable = errors.New("client: server unavailable")

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
			if resp.StatusCode == http.StatusServiceUnavailable {
				return nil, fmt.Errorf("connect: %w (%s)", ErrUnavailable, resp.Status)
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
	var again string
	if c.phase == PhaseReconnecting && c.link == l && !l.ended {
		switch c.where {
		case netcode.WhereQueued:
			c.reconnected(false)
			c.phase = PhaseQueued
		case netcode.WhereLobby:
			again = c.toLobby(c.requeue)
		}
	}
	c.mu.Unlock()
	c.queueAgain(again)
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
