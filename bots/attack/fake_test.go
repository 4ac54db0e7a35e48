package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"

	"skirmish/netcode"
)

// assertHello fails the test unless b is a valid hello.
func assertHello(t *testing.T, b []byte) {
	t.Helper()
	var m netcode.ClientMsg
	if err := netcode.NewReader().DecodeClient(b, &m); err != nil || m.Type != netcode.MsgHello {
		t.Fatalf("% x: %v, type %d: not a hello", b, err, m.Type)
	}
}

// fakeServer is a small stand-in for a hardened Skirmish server: sessions,
// /healthz and a /ws that says welcome to a hello. With guard it enforces
// what the attacks test (the limits are small, for speed); without, none
// of it, as the server did before its hardening.
type fakeServer struct {
	guard        bool
	helloTimeout time.Duration
	perIPCap     int
	rate, burst  float64

	upgrader *gws.Upgrader
	url      string

	mu       sync.Mutex
	tokens   map[string]bool
	buckets  map[string]*fakeBucket // session limit per IP
	perIP    map[string]int
	preHello map[string]bool      // tokens of connections waiting for their hello
	players  map[string]*fakeConn // token → its hello'd connection
}

type fakeBucket struct {
	tokens float64
	last   time.Time
}

type fakeConn struct {
	s       *fakeServer
	ws      *gws.Conn
	token   string
	ip      string
	mu      sync.Mutex
	hello   bool
	closing bool // the server decided to close: later frames are not acted on
	pingBkt fakeBucket
}

func startFake(t *testing.T, guard bool) *fakeServer {
	s := &fakeServer{guard: guard, helloTimeout: 300 * time.Millisecond, perIPCap: 20, rate: 10, burst: 5,
		tokens: map[string]bool{}, buckets: map[string]*fakeBucket{}, perIP: map[string]int{},
		preHello: map[string]bool{}, players: map[string]*fakeConn{}}
	s.upgrader = gws.NewUpgrader(s, &gws.ServerOption{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/sessions", s.session)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"status":"ok"}`)) })
	mux.HandleFunc("GET /ws", s.ws)
	hs := httptest.NewUnstartedServer(mux)
	if guard {
		hs.Config.ReadTimeout, hs.Config.IdleTimeout = time.Second, time.Second
	}
	hs.Start()
	t.Cleanup(hs.Close)
	s.url = hs.URL
	return s
}

func peerIP(r *http.Request) string { h, _, _ := net.SplitHostPort(r.RemoteAddr); return h }

// take takes a token of b (rate per second, burst).
func (b *fakeBucket) take(rate, burst float64) bool {
	now := time.Now()
	if b.last.IsZero() {
		b.tokens = burst
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (s *fakeServer) session(w http.ResponseWriter, r *http.Request) {
	ip := peerIP(r)
	s.mu.Lock()
	b := s.buckets[ip]
	if b == nil {
		b = &fakeBucket{}
		s.buckets[ip] = b
	}
	ok := !s.guard || b.take(s.rate, s.burst)
	s.mu.Unlock()
	if !ok {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	var body struct{ Name string }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	token := hex.EncodeToString(tok)
	s.mu.Lock()
	s.tokens[token] = true
	s.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"token": token})
}

func (s *fakeServer) ws(w http.ResponseWriter, r *http.Request) {
	token, ip := r.URL.Query().Get("token"), peerIP(r)
	s.mu.Lock()
	switch {
	case !s.tokens[token]:
		s.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	case s.guard && (s.perIP[ip] >= s.perIPCap || s.preHello[token]):
		s.mu.Unlock()
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	s.perIP[ip]++
	s.preHello[token] = true
	s.mu.Unlock()
	socket, err := s.upgrader.Upgrade(w, r)
	if err != nil {
		s.release(&fakeConn{token: token, ip: ip})
		return
	}
	c := &fakeConn{s: s, ws: socket, token: token, ip: ip}
	socket.Session().Store("c", c)
	if s.guard {
		time.AfterFunc(s.helloTimeout, func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if !c.hello && !c.closing {
				c.closing = true
				_ = socket.WriteClose(closeHelloTimeout, []byte("hello_timeout"))
			}
		})
	}
	go socket.ReadLoop()
}

// release gives back what a connection held.
func (s *fakeServer) release(c *fakeConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perIP[c.ip]--
	if !c.hello {
		delete(s.preHello, c.token)
	}
	if s.players[c.token] == c {
		delete(s.players, c.token)
	}
}

func fakeConnOf(socket *gws.Conn) *fakeConn {
	v, _ := socket.Session().Load("c")
	return v.(*fakeConn)
}

func (s *fakeServer) OnOpen(*gws.Conn)                  {}
func (s *fakeServer) OnPong(*gws.Conn, []byte)          {}
func (s *fakeServer) OnClose(socket *gws.Conn, _ error) { s.release(fakeConnOf(socket)) }

// OnPing answers; with guard, pings take from a bucket of 60/s, 10.
func (s *fakeServer) OnPing(socket *gws.Conn, payload []byte) {
	c := fakeConnOf(socket)
	c.mu.Lock()
	ok := !s.guard || c.pingBkt.take(60, 10)
	c.mu.Unlock()
	if ok {
		_ = socket.WritePong(payload)
	}
}

func (s *fakeServer) OnMessage(socket *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	c := fakeConnOf(socket)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing && s.guard {
		return
	}
	var m netcode.ClientMsg
	if err := netcode.NewReader().DecodeClient(msg.Bytes(), &m); err != nil || (m.Type == netcode.MsgHello) == c.hello {
		c.closing = true
		_ = socket.WriteClose(closeProtocol, []byte("protocol"))
		return
	}
	if m.Type != netcode.MsgHello {
		return
	}
	c.hello = true
	s.mu.Lock()
	delete(s.preHello, c.token)
	old := s.players[c.token]
	s.players[c.token] = c
	s.mu.Unlock()
	_ = socket.WriteMessage(gws.OpcodeBinary, netcode.AppendWelcome(nil, netcode.Version, "p-1", "guest", netcode.WhereLobby))
	if old != nil {
		_ = old.ws.WriteClose(closeReplaced, []byte("replaced"))
	}
}
