package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lxzan/gws"

	"skirmish/match"
	"skirmish/netcode"
)

// conn is one WebSocket connection: its player, its send path, its rate
// limit and the state of its read loop.
type conn struct {
	srv *Server
	nc  *guardConn
	// ws is set once the upgrade is done. A Shutdown or a kick may close
	// the connection from another goroutine while it upgrades, hence the
	// atomic: it also publishes the gws.Conn's state to that goroutine.
	ws   atomic.Pointer[gws.Conn]
	sess Session
	hash string     // the token's hash: the session's key
	ip   netip.Addr // the client's key in the per-IP table
	out  *match.Outbox

	player   atomic.Pointer[match.Player] // set by hello
	lastSeen atomic.Int64                 // unix nanoseconds of the last frame received
	helloed  atomic.Bool
	// closing: the server has decided to close the connection (protocol
	// error, replaced, kicked, shutdown...); no frame read after that is
	// acted on.
	closing  atomic.Bool
	peerLeft atomic.Bool // the peer closed with 1000 first: it left for good
	waiting  atomic.Bool // holds the token's slot of connections waiting for hello
	// routing: the hello waits for the fleet to say where the player's
	// seat is; frames meanwhile are not acted on.
	routing  atomic.Bool
	finished sync.Once
	logs     logLimiter

	// writing: a writer goroutine runs (wake); wdeadline is the write
	// deadline it set last (writer only).
	writing   atomic.Bool
	wdeadline time.Time
	// The connection's timer (housekeep); helloBy and nextPing are its
	// own. timerMu orders starting, resetting and stopping it.
	timerMu  sync.Mutex
	timer    *time.Timer
	stopped  bool
	helloBy  time.Time
	nextPing time.Time

	// read loop only
	reader   *netcode.Reader
	msg      netcode.ClientMsg
	limiter  bucket
	inBytes  int // bytes received, not yet counted in the metrics
	inFrames int
}

// inBatch is how many frames a connection receives between two updates of
// the bytes-in counter.
const inBatch = 32

// flushIn counts the bytes received since the last flush; read loop only.
func (c *conn) flushIn() {
	if c.inBytes > 0 {
		c.srv.metrics.bytesIn.Add(float64(c.inBytes))
	}
	c.inBytes, c.inFrames = 0, 0
}

func newConn(s *Server, netConn net.Conn, sess Session, hash string, ip netip.Addr) *conn {
	out := match.NewOutbox()
	nc := newGuardConn(netConn, out)
	c := &conn{
		srv:     s,
		nc:      nc,
		sess:    sess,
		hash:    hash,
		ip:      ip,
		out:     out,
		reader:  netcode.NewReader(),
		limiter: newBucket(s.opts.RateLimit, s.opts.RateBurst),
	}
	c.logs = logLimiter{every: time.Second, onSuppress: func() { s.limited(limLogs) }}
	c.lastSeen.Store(time.Now().UnixNano())
	out.OnQueued = c.wake
	out.OnKick = func(code netcode.CloseCode) {
		c.decide(code)
		// A kick must also cut a write stuck on a peer that stopped reading.
		_ = nc.SetWriteDeadline(time.Now().Add(250 * time.Millisecond))
		c.wake()
	}
	return c
}

// decide records the server's decision to close the connection with code:
// from now on no frame of it is acted on. The first decision wins and is
// the one counted; decide reports whether this was it.
func (c *conn) decide(code netcode.CloseCode) bool {
	if !c.closing.CompareAndSwap(false, true) {
		return false
	}
	c.srv.metrics.closes.WithLabelValues(code.Reason()).Inc()
	return true
}

// closeWith decides to close the connection with code and sends the close
// frame at once (from any goroutine).
func (c *conn) closeWith(code netcode.CloseCode) {
	c.decide(code)
	c.writeClose(code)
}

// writeClose sends a close frame with code and its short reason, then
// closes the socket. It is safe from any goroutine and idempotent.
func (c *conn) writeClose(code netcode.CloseCode) {
	ws := c.ws.Load()
	if ws == nil {
		_ = c.nc.Close()
		return
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
	_ = ws.WriteClose(uint16(code), []byte(code.Reason()))
}

// releaseHello gives back the token's slot of connections waiting for
// hello, once.
func (c *conn) releaseHello() {
	if c.waiting.CompareAndSwap(true, false) {
		c.srv.doneWaiting(c.hash)
	}
}

// finish releases what the connection holds; it runs once, on OnClose.
func (c *conn) finish() {
	c.finished.Do(func() {
		c.stopTimer()
		c.releaseHello()
		if p := c.player.Load(); p != nil {
			// The lobby ignores this if a newer connection replaced c. A
			// normal close (1000) is the player leaving; anything else is a
			// drop: the seat is held for the grace, a place in a queue is
			// given up.
			c.srv.lobby.Detach(p, c.out, c.peerLeft.Load())
		}
		c.srv.ips.releaseConn(c.ip)
		c.srv.metrics.connections.Dec()
		c.srv.untrack(c)
	})
}

// A connection has no goroutine of its own besides gws's read loop: the
// match writes its snapshots at once (see match.Outbox), a writer
// goroutine runs only while frames are queued (wake), and one timer does
// the rest (housekeep).

// wake starts the connection's writer goroutine unless one runs: it is
// the Outbox's OnQueued and runs on the poster's goroutine (the match's,
// the lobby's, the read loop's).
func (c *conn) wake() {
	if c.writing.CompareAndSwap(false, true) {
		go c.writeLoop()
	}
}

// writeLoop writes the frames queued in the Outbox, in order, waiting for
// the socket, and closes the connection when it is kicked. It ends once
// nothing is queued; a kick ends it for good.
func (c *conn) writeLoop() {
	defer c.srv.recoverConn(c)
	for {
		select {
		case f := <-c.out.Frames():
			now := time.Now()
			if now.Add(5 * time.Second).After(c.wdeadline) {
				c.wdeadline = now.Add(10 * time.Second)
				_ = c.nc.SetWriteDeadline(c.wdeadline)
			}
			control := f.Control()
			n := len(f.B)
			if err := c.out.WriteQueued(f); err != nil {
				// Broken, or stalled past the deadline: the read loop ends
				// on the closed socket, and the connection with it.
				_ = c.nc.Close()
				return
			}
			if control { // the match counts its snapshots
				c.srv.metrics.bytesOut.Add(float64(n))
				c.srv.metrics.framesOut.Inc()
			}
		case code := <-c.out.Kicked():
			c.stopTimer()
			if code == netcode.CloseShutdown || code == netcode.CloseMoved {
				c.flush() // the results, or the moved message
			}
			c.writeClose(code)
			return
		default:
			c.writing.Store(false)
			// A frame posted after the default and before the Store found
			// a writer running: look again.
			if len(c.out.Frames()) == 0 && len(c.out.Kicked()) == 0 || !c.writing.CompareAndSwap(false, true) {
				return
			}
		}
	}
}

// startTimer starts the connection's one timer (see housekeep); once, on
// OnOpen.
func (c *conn) startTimer() {
	opts := &c.srv.opts
	now := time.Now()
	c.timerMu.Lock()
	defer c.timerMu.Unlock()
	if c.stopped {
		return
	}
	c.helloBy = now.Add(opts.HelloTimeout)
	c.nextPing = now.Add(opts.PingInterval)
	c.timer = time.AfterFunc(c.nextWake(now), c.housekeep)
}

// stopTimer stops the timer for good.
func (c *conn) stopTimer() {
	c.timerMu.Lock()
	defer c.timerMu.Unlock()
	c.stopped = true
	if c.timer != nil {
		c.timer.Stop()
	}
}

// nextWake is how long until the timer's next duty: the hello timeout
// (until a hello), the idle timeout (exactly IdleTimeout after the last
// frame received) or the next ping. c.timerMu is held.
func (c *conn) nextWake(now time.Time) time.Duration {
	next := c.nextPing
	if idleAt := time.Unix(0, c.lastSeen.Load()).Add(c.srv.opts.IdleTimeout); idleAt.Before(next) {
		next = idleAt
	}
	if !c.helloed.Load() && c.helloBy.Before(next) {
		next = c.helloBy
	}
	return next.Sub(now)
}

// housekeep is the timer's duty, on a goroutine of its own: it closes a
// connection that sent no hello in time or went idle, and pings the peer
// (browsers do not ping).
func (c *conn) housekeep() {
	defer c.srv.recoverConn(c)
	if c.closing.Load() {
		return
	}
	opts := &c.srv.opts
	now := time.Now()
	c.timerMu.Lock()
	helloBy, ping := c.helloBy, !now.Before(c.nextPing)
	if ping {
		c.nextPing = now.Add(opts.PingInterval)
	}
	c.timerMu.Unlock()
	if !c.helloed.Load() && !now.Before(helloBy) {
		c.srv.limited(limHelloTimeout)
		c.closeWith(netcode.CloseHelloTimeout)
		return
	}
	if now.Sub(time.Unix(0, c.lastSeen.Load())) >= opts.IdleTimeout {
		c.closeWith(netcode.CloseIdle)
		return
	}
	if ping {
		_ = c.nc.SetWriteDeadline(now.Add(10 * time.Second))
		if ws := c.ws.Load(); ws != nil && ws.WritePing(nil) != nil {
			_ = c.nc.Close() // as in writeLoop
			return
		}
	}
	c.timerMu.Lock()
	defer c.timerMu.Unlock()
	if !c.stopped {
		c.timer.Reset(c.nextWake(time.Now()))
	}
}

// flush writes the frames already posted (a shutdown's results), within a
// short deadline.
func (c *conn) flush() {
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	for {
		select {
		case f := <-c.out.Frames():
			if c.out.WriteQueued(f) != nil {
				return
			}
		default:
			return
		}
	}
}

// admit is the first step of every frame read, data or control, on the
// read loop: a frame of a connection the server decided to close is
// ignored; every other counts against the rate limit. It reports whether
// the frame may be acted on.
func (c *conn) admit(now time.Time, size int) bool {
	if c.closing.Load() {
		return false
	}
	c.lastSeen.Store(now.UnixNano())
	m := c.srv.metrics
	// Bytes in are counted in batches: a shared counter's update per frame
	// is a contended atomic on every read.
	c.inBytes += size
	if c.inFrames++; c.inFrames >= inBatch {
		c.flushIn()
	}
	switch c.limiter.take(now) {
	case rateDrop:
		m.rateLimited.Inc()
		c.srv.limited(limMessages)
		return false
	case rateFlood:
		m.rateLimited.Inc()
		c.srv.limited(limFlood)
		c.logs.log(c.srv.log, slog.LevelWarn, "closing flooding connection", "player", c.sess.PlayerID, "ip", c.ip.String())
		c.closeWith(netcode.CloseFlood)
		return false
	}
	return true
}

// onMessage handles one client frame on the read loop.
func (c *conn) onMessage(msg *gws.Message) {
	now := time.Now()
	data := msg.Bytes()
	if !c.admit(now, len(data)) {
		return
	}
	if msg.Opcode != gws.OpcodeBinary {
		c.protocolError("text frame")
		return
	}
	if err := c.reader.DecodeClient(data, &c.msg); err != nil {
		c.protocolError(err.Error())
		return
	}
	p := c.player.Load()
	if p == nil && c.msg.Type != netcode.MsgHello {
		if c.routing.Load() {
			return // the hello is being routed; the client waits for welcome
		}
		c.protocolError("message before hello")
		return
	}
	switch c.msg.Type {
	case netcode.MsgHello:
		c.hello()
	case netcode.MsgQueue:
		c.srv.lobby.Queue(p, c.out, c.msg.Mode)
	case netcode.MsgInput:
		switch p.SendInput(&c.msg.Input, c.out) {
		case match.InputNotSeated, match.InputInboxFull:
			c.srv.metrics.inputsDropped.Inc()
		case match.InputSeqSpent:
			c.protocolError("input after seq 2^32-1")
		}
	case netcode.MsgInputs:
		for i := range c.msg.BatchLen {
			switch p.SendInput(&c.msg.Batch[i], c.out) {
			case match.InputNotSeated, match.InputInboxFull:
				c.srv.metrics.inputsDropped.Inc()
			case match.InputSeqSpent:
				c.protocolError("input after seq 2^32-1")
				return
			}
		}
	case netcode.MsgPing:
		c.post(netcode.AppendPong(nil, c.msg.RawClientTime(), uint64(now.UnixMilli())))
	case netcode.MsgLeave:
		c.srv.lobby.Leave(p, c.out)
	case netcode.MsgSpectate:
		c.srv.lobby.Spectate(p, c.out, c.msg.MatchID, c.msg.Follow)
	}
}

// hello binds the connection to its player: the lobby posts the welcome
// and resumes a held seat (matched again, then a full view); a second
// connection replaces the first; a new player whose session records a seat
// this node no longer has (expired, or a match gone with a restart or
// ended while away) learns that they are in the lobby.
func (c *conn) hello() {
	s := c.srv
	if c.helloed.Load() {
		c.protocolError("second hello")
		return
	}
	if c.msg.MinVersion > netcode.Version || c.msg.MaxVersion < netcode.Version {
		// Versions 1 and 2 lack the mode's declaration in matched: such a
		// client cannot play any mode correctly.
		s.log.Debug("no common protocol version", "min", c.msg.MinVersion, "max", c.msg.MaxVersion, "speaks", netcode.Version)
		c.closeWith(netcode.CloseVersion)
		return
	}
	if s.fleet != nil && c.sess.MatchID != "" && !s.lobby.Has(c.sess.PlayerID) {
		// The session records a seat this node does not hold: the fleet
		// knows where it is.
		c.helloed.Store(true)
		c.routing.Store(true)
		c.releaseHello()
		go c.route()
		return
	}
	c.attach()
}

// routeWait bounds how long a hello waits for a dead node's match to be
// adopted (its record expires within 3 s, adoption follows within 1 s).
const routeWait = 8 * time.Second

// route finds the node that hosts the player's match: another live node
// gets the player (moved, close 4007); a dead one's match is waited for
// until a node adopts it; this node, or no match at all, attaches here.
func (c *conn) route() {
	defer c.srv.recoverConn(c)
	s := c.srv
	deadline := time.Now().Add(routeWait)
	for !c.closing.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), fleetOpTimeout)
		host, n, err := s.fleet.hostOf(ctx, c.sess.MatchID)
		cancel()
		switch {
		case err != nil || host == "":
			// Redis out of reach, or the match is over: the lobby tells
			// the player what it knows.
		case host == s.nodeID:
			// The adoption is under way here: wait for the lobby, not Redis.
			for !s.lobby.Seated(c.sess.PlayerID) && time.Now().Before(deadline) && !c.closing.Load() {
				time.Sleep(20 * time.Millisecond)
			}
		case n != nil && n.URL != s.fleet.url:
			// (A dead node's fresh record may name this node's own URL: a
			// node restarted with another ID on the same address. Then
			// the hello waits for the adoption, below.)
			s.metrics.moved.Inc()
			c.post(netcode.AppendMoved(nil, n.URL))
			c.decide(netcode.CloseMoved)
			c.out.Kick(netcode.CloseMoved)
			return
		default:
			if time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond) // a dead host: wait for an adopter
				continue
			}
		}
		break
	}
	if c.closing.Load() {
		return
	}
	c.attach()
	c.routing.Store(false)
}

// attach binds the connection to its player in the lobby (see hello).
func (c *conn) attach() {
	s := c.srv
	// The hello is good: the token's slot of connections waiting for one
	// is free before the welcome goes out (a client may open its next
	// connection as soon as it has the welcome).
	c.helloed.Store(true)
	c.releaseHello()
	p, replaced, fresh := s.lobby.Attach(c.sess.PlayerID, c.sess.Name, c.hash, netcode.Version, c.out)
	if p == nil { // shutting down
		c.closeWith(netcode.CloseShutdown)
		return
	}
	c.player.Store(p)
	if replaced != nil {
		c.logs.log(s.log, slog.LevelInfo, "connection replaced", "player", c.sess.PlayerID)
		replaced.Kick(netcode.CloseReplaced)
	}
	if !fresh {
		s.metrics.resumes.Inc()
		return
	}
	if s.fleet != nil {
		// A connection of the player's on another node is replaced.
		go s.fleet.kickElsewhere(c.sess.PlayerID)
	}
	if c.sess.Status == StatusExpired || c.sess.MatchID != "" {
		code := netcode.ErrMatchGone
		if c.sess.Status == StatusExpired {
			code = netcode.ErrSeatExpired
		}
		c.post(netcode.AppendError(nil, code))
		s.writer.seat(c.hash, Session{Seat: -1, Status: StatusLobby}, time.Time{})
	}
}

func (c *conn) post(frame []byte) {
	if !c.out.PostControl(frame) {
		c.out.Kick(netcode.CloseCongested)
	}
}

func (c *conn) protocolError(why string) {
	c.srv.metrics.protocolErrors.Inc()
	c.logs.log(c.srv.log, slog.LevelInfo, "protocol error", "player", c.sess.PlayerID, "ip", c.ip.String(), "why", why)
	c.closeWith(netcode.CloseProtocol)
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
	c.startTimer()
}

func (h *handler) OnClose(socket *gws.Conn, err error) {
	c := connOf(socket)
	defer h.s.recoverConn(c)
	var ce *gws.CloseError
	var sc interface{ Uint16() uint16 }
	switch {
	case c.closing.Load():
		// The server decided this close; it was counted then.
	case errors.As(err, &ce):
		if ce.Code == uint16(netcode.CloseNormal) {
			c.peerLeft.Store(true)
		}
	case errors.As(err, &sc):
		// gws closed the connection for a frame-level violation (too
		// large, bad opcode, bad masking); the guard gave it our reason.
		code := netcode.CloseCode(sc.Uint16())
		c.decide(code)
		h.s.metrics.protocolErrors.Inc()
		c.logs.log(h.s.log, slog.LevelInfo, "protocol error", "player", c.sess.PlayerID, "ip", c.ip.String(), "why", code.Reason())
	}
	c.flushIn()
	c.finish()
}

func (h *handler) OnPing(socket *gws.Conn, payload []byte) {
	c := connOf(socket)
	defer h.s.recoverConn(c)
	// A ping is a frame like any other: over the rate limit it gets no
	// pong, so a ping flood makes the server write nothing.
	if now := time.Now(); c.admit(now, len(payload)) {
		_ = c.nc.SetWriteDeadline(now.Add(10 * time.Second))
		_ = socket.WritePong(payload)
	}
}

func (h *handler) OnPong(socket *gws.Conn, payload []byte) {
	c := connOf(socket)
	defer h.s.recoverConn(c)
	c.admit(time.Now(), len(payload))
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

// guardConn wraps a hijacked connection. It is the connection's
// match.Socket: every write goes through its Outbox's socket lock, so that
// the snapshots the match writes at once and the frames gws writes (pings,
// pongs, closes) never interleave. Every close frame the server writes,
// ours or gws's own, carries our short reason for its code and never the
// text of a Go error.
type guardConn struct {
	net.Conn
	out     *match.Outbox
	closing sync.Once

	// raw is the socket's file descriptor for writes that do not wait
	// (nil when the connection has none: then every frame is queued).
	// rawWrite is its callback, made once; rawBuf, rawN and rawErr are
	// its argument and results, used under the Outbox's socket lock.
	raw      syscall.RawConn
	rawWrite func(fd uintptr) bool
	rawBuf   []byte
	rawN     int
	rawErr   error
}

func newGuardConn(nc net.Conn, out *match.Outbox) *guardConn {
	g := &guardConn{Conn: nc, out: out}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			g.raw = raw
			g.rawWrite = g.writeFD
		}
	}
	out.SetSocket(g)
	return g
}

// WriteNow writes what of b the socket takes at once, with one
// non-blocking write(2) on the match goroutine: 0 when its send buffer is
// full or its write deadline passed (the connection's writer goroutine
// then takes over), an error when the connection is broken.
func (g *guardConn) WriteNow(b []byte) (int, error) {
	if g.raw == nil {
		return 0, nil
	}
	g.rawBuf, g.rawN, g.rawErr = b, 0, nil
	err := g.raw.Write(g.rawWrite)
	g.rawBuf = nil
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 0, nil
	case err != nil:
		return 0, err
	}
	return g.rawN, g.rawErr
}

// writeFD is WriteNow's callback: one write, never a wait (it reports
// done whatever happened).
func (g *guardConn) writeFD(fd uintptr) bool {
	for {
		n, err := syscall.Write(int(fd), g.rawBuf)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			g.rawN = 0
		case err != nil:
			g.rawErr = err
		default:
			g.rawN = n
		}
		return true
	}
}

// WriteWait writes all of b, waiting for the socket within its write
// deadline.
func (g *guardConn) WriteWait(b []byte) error {
	_, err := g.Conn.Write(b)
	return err
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

// Write is how gws writes (the handshake's response, pings, pongs,
// closes): through the Outbox's socket lock.
func (g *guardConn) Write(p []byte) (int, error) {
	// A server close frame: FIN+opcode 8, unmasked, length < 126, code.
	if len(p) >= 4 && p[0] == 0x88 && p[1] < 126 && int(p[1]) == len(p)-2 {
		code := netcode.CloseCode(uint16(p[2])<<8 | uint16(p[3]))
		reason := code.Reason()
		var frame [4 + 32]byte
		frame[0], frame[1], frame[2], frame[3] = 0x88, byte(2+len(reason)), p[2], p[3]
		n := 4 + copy(frame[4:], reason)
		if _, err := g.out.WriteRaw(frame[:n]); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return g.out.WriteRaw(p)
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
