package server

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"

	"skirmish/match"
	"skirmish/netcode"
)

// conn is one WebSocket connection: its player, its send path, its rate
// limit and the state of its read loop.
type conn struct {
	srv    *Server
	nc     *guardConn
	ws     *gws.Conn
	sess   Session
	hash   string        // the token's hash: the session's key
	player *match.Player // set on hello
	out    *match.Outbox

	lastSeen atomic.Int64 // unix nanoseconds of the last frame received
	peerLeft atomic.Bool  // the peer closed with 1000: it left for good
	done     chan struct{}
	finished sync.Once

	// read loop only
	reader  *netcode.Reader
	msg     netcode.ClientMsg
	hello   bool
	limiter bucket
}

func newConn(s *Server, nc *guardConn, sess Session, hash string) *conn {
	out := match.NewOutbox()
	c := &conn{
		srv:     s,
		nc:      nc,
		sess:    sess,
		hash:    hash,
		out:     out,
		done:    make(chan struct{}),
		reader:  netcode.NewReader(),
		limiter: newBucket(s.opts.RateLimit, s.opts.RateBurst),
	}
	c.lastSeen.Store(time.Now().UnixNano())
	// A kick must also cut a write stuck on a peer that stopped reading.
	out.OnKick = func() { _ = nc.SetWriteDeadline(time.Now().Add(250 * time.Millisecond)) }
	return c
}

// close sends a close frame with code and its short reason, then closes
// the socket. It is safe from any goroutine and idempotent.
func (c *conn) close(code netcode.CloseCode) {
	if c.ws == nil {
		_ = c.nc.Close()
		return
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
	// Counted even if the frame cannot be written (a peer that stopped
	// reading): the connection is closed for this reason either way.
	if err := c.ws.WriteClose(uint16(code), []byte(code.Reason())); !errors.Is(err, gws.ErrConnClosed) {
		c.srv.metrics.closes.WithLabelValues(code.Reason()).Inc()
	}
}

// finish releases what the connection holds; it runs once, on OnClose.
func (c *conn) finish() {
	c.finished.Do(func() {
		close(c.done)
		if c.player != nil && c.srv.players.detach(c) {
			// Not replaced by a newer connection. A normal close (1000) is
			// the player leaving; anything else is a drop: the seat is held
			// for the grace, a place in a queue is given up.
			if c.peerLeft.Load() {
				c.srv.lobby.Leave(c.player)
			} else {
				c.srv.lobby.Disconnect(c.player)
			}
			if c.player.Match() == nil {
				c.srv.players.forget(c.player.ID)
			}
		}
		c.srv.metrics.connections.Dec()
		c.srv.untrack(c)
	})
}

// writeLoop is the connection's writer goroutine: it writes the frames the
// match and the lobby post, pings the peer, and drops it when idle.
func (c *conn) writeLoop() {
	defer c.srv.recoverConn(c)
	opts := &c.srv.opts
	check := min(opts.PingInterval, opts.IdleTimeout/6)
	ticker := time.NewTicker(check)
	defer ticker.Stop()
	lastPing := time.Now()
	var deadline time.Time
	for {
		select {
		case f := <-c.out.Frames():
			now := time.Now()
			if now.Add(5 * time.Second).After(deadline) {
				deadline = now.Add(10 * time.Second)
				_ = c.nc.SetWriteDeadline(deadline)
			}
			err := c.ws.WriteMessage(gws.OpcodeBinary, f.B)
			c.out.Release(f)
			if err != nil {
				select {
				case code := <-c.out.Kicked(): // the kick cut this write
					c.srv.metrics.closes.WithLabelValues(code.Reason()).Inc()
				default:
				}
				return
			}
			c.srv.metrics.bytesOut.Add(float64(len(f.B)))
			c.srv.metrics.framesOut.Inc()
		case code := <-c.out.Kicked():
			if code == netcode.CloseShutdown {
				c.flush()
			}
			c.close(code)
			return
		case now := <-ticker.C:
			if now.Sub(time.Unix(0, c.lastSeen.Load())) > opts.IdleTimeout {
				c.close(netcode.CloseIdle)
				return
			}
			if now.Sub(lastPing) >= opts.PingInterval {
				lastPing = now
				_ = c.nc.SetWriteDeadline(now.Add(10 * time.Second))
				deadline = now.Add(10 * time.Second)
				if err := c.ws.WritePing(nil); err != nil {
					return
				}
			}
		case <-c.done:
			return
		}
	}
}

// flush writes the frames already posted (a shutdown's results), within a
// short deadline.
func (c *conn) flush() {
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	for {
		select {
		case f := <-c.out.Frames():
			err := c.ws.WriteMessage(gws.OpcodeBinary, f.B)
			c.out.Release(f)
			if err != nil {
				return
			}
		default:
			return
		}
	}
}

// onMessage handles one client frame on the read loop.
func (c *conn) onMessage(msg *gws.Message) {
	now := time.Now()
	c.lastSeen.Store(now.UnixNano())
	data := msg.Bytes()
	m := c.srv.metrics
	m.bytesIn.Add(float64(len(data)))
	if msg.Opcode != gws.OpcodeBinary {
		c.protocolError("text frame")
		return
	}
	switch c.limiter.take(now) {
	case rateDrop:
		m.rateLimited.Inc()
		return
	case rateFlood:
		m.rateLimited.Inc()
		c.srv.log.Warn("closing flooding connection", "player", c.sess.PlayerID)
		c.close(netcode.CloseFlood)
		return
	}
	if err := c.reader.DecodeClient(data, &c.msg); err != nil {
		c.protocolError(err.Error())
		return
	}
	if !c.hello && c.msg.Type != netcode.MsgHello {
		c.protocolError("message before hello")
		return
	}
	switch c.msg.Type {
	case netcode.MsgHello:
		if c.hello {
			c.protocolError("second hello")
			return
		}
		if c.msg.MinVersion > netcode.Version || c.msg.MaxVersion < netcode.Version {
			c.close(netcode.CloseVersion)
			return
		}
		c.hello = true
		c.post(netcode.AppendWelcome(nil, netcode.Version, c.sess.PlayerID, c.sess.Name))
		c.attach()
	case netcode.MsgQueue:
		c.srv.lobby.Queue(c.player, c.msg.Mode)
	case netcode.MsgInput:
		if !c.player.SendInput(&c.msg.Input) {
			m.inputsDropped.Inc()
		}
	case netcode.MsgPing:
		c.post(netcode.AppendPong(nil, c.msg.ClientTime, uint64(now.UnixMilli())))
	case netcode.MsgLeave:
		c.srv.lobby.Leave(c.player)
	}
}

// attach binds the connection to its player after the welcome: a player
// this node knows resumes (their seat, if held, with a full view); a second
// connection replaces the first; a player whose recorded match is not on
// this node (the server restarted) learns that it is gone.
func (c *conn) attach() {
	s := c.srv
	p, old, fresh := s.players.attach(c)
	c.player = p.mp
	if old != nil {
		s.log.Info("connection replaced", "player", c.sess.PlayerID)
		old.out.Kick(netcode.CloseReplaced)
	}
	switch {
	case !fresh:
		s.metrics.resumes.Inc()
		s.lobby.Reconnect(p.mp) // resumes a held seat, or reports it expired
		if c.sess.Status == StatusExpired {
			hash := c.hash
			s.writer.enqueue("save", func(ctx context.Context) error {
				return s.store.Save(ctx, hash, Session{Seat: -1, Status: StatusLobby}, 0)
			})
		}
	case c.sess.Status == StatusExpired || c.sess.MatchID != "":
		// The seat expired while away, or its match is not on this node
		// (the server restarted): the player is in the lobby.
		code := netcode.ErrMatchGone
		if c.sess.Status == StatusExpired {
			code = netcode.ErrSeatExpired
		}
		c.post(netcode.AppendError(nil, code))
		hash := c.hash
		s.writer.enqueue("save", func(ctx context.Context) error {
			return s.store.Save(ctx, hash, Session{Seat: -1, Status: StatusLobby}, 0)
		})
	}
}

func (c *conn) post(frame []byte) {
	if !c.out.PostControl(frame) {
		c.out.Kick(netcode.CloseCongested)
	}
}

func (c *conn) protocolError(why string) {
	c.srv.metrics.protocolErrors.Inc()
	c.srv.log.Info("protocol error", "player", c.sess.PlayerID, "why", why)
	c.close(netcode.CloseProtocol)
}

// handler receives gws's events and hands them to the conn. Each method
// recovers by itself: gws's Recovery covers OnMessage only, and a panic in
// OnOpen or OnClose would kill the process.
type handler struct{ s *Server }

func connOf(socket *gws.Conn) *conn { return socket.Session().(*connSession).c }

func (h *handler) OnOpen(socket *gws.Conn) {
	c := connOf(socket)
	defer h.s.recoverConn(c)
	_ = socket.SetNoDelay(true)
	h.s.metrics.connections.Inc()
	go c.writeLoop()
}

func (h *handler) OnClose(socket *gws.Conn, err error) {
	c := connOf(socket)
	defer h.s.recoverConn(c)
	var ce *gws.CloseError
	var sc interface{ Uint16() uint16 }
	if errors.As(err, &ce) && ce.Code == uint16(netcode.CloseNormal) {
		c.peerLeft.Store(true)
	}
	if !errors.As(err, &ce) && errors.As(err, &sc) {
		// gws closed the connection for a frame-level violation (too large,
		// bad opcode, bad masking); the guard gave it our reason text.
		h.s.metrics.protocolErrors.Inc()
		h.s.metrics.closes.WithLabelValues(netcode.CloseCode(sc.Uint16()).Reason()).Inc()
	}
	c.finish()
}

func (h *handler) OnPing(socket *gws.Conn, payload []byte) {
	c := connOf(socket)
	defer h.s.recoverConn(c)
	c.lastSeen.Store(time.Now().UnixNano())
	_ = socket.WritePong(payload)
}

func (h *handler) OnPong(socket *gws.Conn, _ []byte) {
	connOf(socket).lastSeen.Store(time.Now().UnixNano())
}

func (h *handler) OnMessage(socket *gws.Conn, msg *gws.Message) {
	c := connOf(socket)
	defer msg.Close()
	defer h.s.recoverConn(c)
	c.onMessage(msg)
}

// connSession is the gws session storage of a connection: it only carries
// the conn, so that events find it without a map lookup.
type connSession struct{ c *conn }

func (*connSession) Len() int                     { return 0 }
func (*connSession) Load(string) (any, bool)      { return nil, false }
func (*connSession) Delete(string)                {}
func (*connSession) Store(string, any)            {}
func (*connSession) Range(func(string, any) bool) {}

// guardConn wraps a hijacked connection so that every close frame the
// server writes, ours or gws's own, carries our short reason for its code
// and never the text of a Go error.
type guardConn struct {
	net.Conn
	closing sync.Once
}

// Close sends FIN after what was written (the close frame) and closes for
// good a moment later. Closing at once while the peer's last frames sit
// unread would make the kernel answer with a reset, and a browser that
// gets the reset loses the close frame (it sees 1006, not our code).
func (g *guardConn) Close() error {
	g.closing.Do(func() {
		tc, ok := g.Conn.(*net.TCPConn)
		if !ok || tc.CloseWrite() != nil {
			_ = g.Conn.Close()
			return
		}
		time.AfterFunc(time.Second, func() { _ = g.Conn.Close() })
	})
	return nil
}

// closeNow closes at once (a shutdown out of time).
func (g *guardConn) closeNow() { _ = g.Conn.Close() }

func (g *guardConn) Write(p []byte) (int, error) {
	// A server close frame: FIN+opcode 8, unmasked, length < 126, code.
	if len(p) >= 4 && p[0] == 0x88 && p[1] < 126 && int(p[1]) == len(p)-2 {
		code := netcode.CloseCode(uint16(p[2])<<8 | uint16(p[3]))
		reason := code.Reason()
		var frame [4 + 32]byte
		frame[0], frame[1], frame[2], frame[3] = 0x88, byte(2+len(reason)), p[2], p[3]
		n := 4 + copy(frame[4:], reason)
		if _, err := g.Conn.Write(frame[:n]); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return g.Conn.Write(p)
}

// rate limit outcomes
const (
	rateOK = iota
	rateDrop
	rateFlood
)

// bucket is a connection's token bucket, used by its read loop only. It
// also detects a flood: more than 10× the sustained rate in each of two
// one-second windows running (a window starts with the first message after
// the previous one ended).
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
	winStart            time.Time
	winCount            int
	floodWindows        int
}

func newBucket(rate float64, burst int) bucket {
	return bucket{rate: rate, burst: float64(burst), tokens: float64(burst)}
}

func (b *bucket) take(now time.Time) int {
	if b.last.IsZero() {
		b.last, b.winStart = now, now
	}
	if el := now.Sub(b.winStart); el >= time.Second {
		if float64(b.winCount) > 10*b.rate && el < 2*time.Second {
			b.floodWindows++
		} else {
			b.floodWindows = 0
		}
		b.winStart, b.winCount = now, 0
	}
	b.winCount++
	if b.floodWindows >= 2 {
		return rateFlood
	}
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return rateDrop
	}
	b.tokens--
	return rateOK
}
