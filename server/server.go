package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/lxzan/gws"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"skirmish/client"
	"skirmish/game"
	"skirmish/match"
	"skirmish/netcode"
)

// Server is the Skirmish HTTP and WebSocket server.
type Server struct {
	opts     Options
	log      *slog.Logger
	store    SessionStore
	players  *players
	writer   *storeWriter
	nodeID   string
	lobby    *match.Lobby
	metrics  *metrics
	upgrader *gws.Upgrader
	http     *http.Server
	started  time.Time
	closing  atomic.Bool

	mu    sync.Mutex
	conns map[*conn]struct{} // hijacked connections, invisible to http.Server
	idle  chan struct{}      // closed when conns empties during shutdown
}

// New returns a Server for opts (zero fields take their defaults). It starts
// the matchmaker; call Serve or ListenAndServe, then Shutdown.
func New(opts Options) (*Server, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		opts:    opts,
		log:     opts.logger(),
		players: newPlayers(),
		metrics: newMetrics(),
		started: time.Now(),
		conns:   make(map[*conn]struct{}),
		nodeID:  opts.NodeID,
	}
	if s.nodeID == "" {
		s.nodeID = "n-" + NewPlayerID()[2:10]
	}
	if opts.Redis != "" {
		SetRedisLogger(s.log)
		rs := NewRedisStore(opts.Redis, opts.RedisMaster)
		if err := rs.Ping(context.Background()); err != nil {
			// Start anyway: the store recovers by itself when Redis returns.
			s.log.Error("redis unreachable at start", "addr", opts.Redis, "err", err)
		}
		s.store = rs
	} else {
		s.store = NewMemoryStore()
	}
	// One worker keeps each player's writes in order; they are rare.
	s.writer = newStoreWriter(s, 1, 4096)
	modes := map[string]game.Mode{}
	for _, m := range []game.Mode{
		game.NewArena(game.ArenaConfig{
			Players:  opts.ArenaPlayers,
			NPCs:     opts.ArenaNPCs,
			Width:    float32(opts.ArenaSize),
			Duration: opts.ArenaDuration,
		}),
		game.NewTag(),
	} {
		modes[m.Spec().Name] = m
	}
	lobby, err := match.NewLobby(match.LobbyConfig{
		Modes:       modes,
		FillTimeout: opts.FillTimeout,
		Match: match.Config{TickRate: opts.TickRate, Observer: s.metrics, Logger: s.log,
			InterestRadius: float32(opts.InterestRadius), FullViews: opts.FullSnapshots,
			CongestedKick: opts.CongestedTimeout, SeatGrace: opts.SeatGrace, Hooks: hooks{s}},
	})
	if err != nil {
		return nil, err
	}
	s.lobby = lobby
	s.upgrader = gws.NewUpgrader(&handler{s: s}, &gws.ServerOption{
		ReadMaxPayloadSize: netcode.MaxClientFrame,
		ParallelEnabled:    false, // it would reorder a connection's messages
		CheckUtf8Enabled:   false,
		Recovery:           s.recoverGWS,
		HandshakeTimeout:   5 * time.Second,
		NewSession:         func() gws.SessionStorage { return &connSession{} },
		Authorize: func(r *http.Request, ss gws.SessionStorage) bool {
			c, ok := r.Context().Value(connKey{}).(*conn)
			ss.(*connSession).c = c
			return ok
		},
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/sessions", s.handleCreateSession)
	mux.HandleFunc("GET /ws", s.handleWS)
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /v1/leaderboard", s.handleLeaderboard)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /", http.FileServerFS(client.Web()))
	s.http = &http.Server{
		Addr:              opts.Addr,
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.http.Handler }

// Options returns the options in effect, defaults applied.
func (s *Server) Options() Options { return s.opts }

// ListenAndServe listens on Options.Addr and serves until Shutdown.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve serves on ln until Shutdown; it then returns http.ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.log.Info("listening", "addr", ln.Addr().String(), "tick_rate", s.opts.TickRate)
	return s.http.Serve(ln)
}

// Shutdown stops accepting connections, ends every match with a shutdown
// result, closes every WebSocket with 1001 after its pending frames, and
// returns when all are gone or ctx ends (then the rest are cut).
func (s *Server) Shutdown(ctx context.Context) error {
	if !s.closing.CompareAndSwap(false, true) {
		return errors.New("server: already shut down")
	}
	s.log.Info("shutting down")
	httpDone := make(chan error, 1)
	go func() { httpDone <- s.http.Shutdown(ctx) }()
	lobbyErr := s.lobby.Close(ctx)

	s.mu.Lock()
	s.idle = make(chan struct{})
	if len(s.conns) == 0 {
		close(s.idle)
	}
	for c := range s.conns {
		c.out.Kick(netcode.CloseShutdown)
	}
	s.mu.Unlock()

	var err error
	select {
	case <-s.idle:
	case <-ctx.Done():
		err = ctx.Err()
		s.mu.Lock()
		for c := range s.conns {
			c.nc.closeNow()
		}
		s.mu.Unlock()
	}
	if herr := <-httpDone; err == nil {
		err = herr
	}
	s.writer.close() // results of the ended matches, sessions
	_ = s.store.Close()
	if err == nil {
		err = lobbyErr
	}
	s.log.Info("shut down", "error", err)
	return err
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idle != nil {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if s.idle != nil && len(s.conns) == 0 {
		select {
		case <-s.idle:
		default:
			close(s.idle)
		}
	}
}

// writeJSON writes v with status; errors are short codes ({"error":"…"}).
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code})
}

// MaxNameLen is the longest player name.
const MaxNameLen = 24

func validName(n string) bool {
	if n == "" || len(n) > MaxNameLen*4 || len([]rune(n)) > MaxNameLen {
		return false
	}
	for _, r := range n {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func (s *Server) handleCreateSession(w http.ResponseWriter, r *http.Request) {
	if s.closing.Load() {
		writeError(w, http.StatusServiceUnavailable, "shutting_down")
		return
	}
	var body struct {
		Name string `json:"name"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024))
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "bad_request")
		return
	}
	body.Name = strings.TrimSpace(body.Name)
	id := NewPlayerID()
	if body.Name == "" {
		body.Name = "guest-" + id[2:6]
	}
	if !validName(body.Name) {
		writeError(w, http.StatusBadRequest, "bad_name")
		return
	}
	sess := Session{PlayerID: id, Name: body.Name, Seat: -1, Status: StatusLobby, ExpiresAt: time.Now().Add(s.opts.SessionTTL)}
	tok, err := s.store.Create(r.Context(), sess, s.opts.SessionTTL)
	if err != nil {
		s.storeError("create", err)
		writeError(w, http.StatusServiceUnavailable, "store_unavailable")
		return
	}
	s.players.remember(HashToken(tok), sess)
	s.metrics.sessions.Inc()
	writeJSON(w, http.StatusCreated, map[string]string{
		"token":     tok,
		"playerId":  sess.PlayerID,
		"name":      sess.Name,
		"expiresAt": sess.ExpiresAt.UTC().Format(time.RFC3339),
	})
}

// storeError logs and counts a failed store operation.
func (s *Server) storeError(op string, err error) {
	s.metrics.storeErrors.WithLabelValues(op).Inc()
	s.log.Error("session store", "op", op, "err", err)
}

func (s *Server) handleLeaderboard(w http.ResponseWriter, r *http.Request) {
	mode := r.URL.Query().Get("mode")
	if mode == "" {
		mode = "arena"
	}
	if !s.lobby.HasMode(mode) {
		writeError(w, http.StatusBadRequest, "unknown_mode")
		return
	}
	top, err := s.store.Leaderboard(r.Context(), mode, 100)
	if err != nil {
		s.storeError("leaderboard", err)
		writeError(w, http.StatusServiceUnavailable, "store_unavailable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"mode": mode, "players": top})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.conns)
	s.mu.Unlock()
	status, code := "ok", http.StatusOK
	if s.closing.Load() {
		status, code = "shutting_down", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{
		"status":      status,
		"connections": n,
		"tickRate":    s.opts.TickRate,
		"uptimeS":     int64(time.Since(s.started).Seconds()),
		"protocol":    netcode.Version,
	})
}

// originAllowed reports whether a browser page from origin may open /ws:
// no Origin (not a browser), the server's own host, localhost, or one of
// Options.AllowedOrigins.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	for _, a := range s.opts.AllowedOrigins {
		if a == "*" || strings.EqualFold(a, origin) || strings.EqualFold(a, u.Host) {
			return true
		}
	}
	return false
}

// wsHandshakeOK checks the upgrade headers here, so that gws never answers
// a bad handshake with its own error text.
func wsHandshakeOK(r *http.Request) bool {
	return r.Header.Get("Sec-WebSocket-Version") == "13" &&
		r.Header.Get("Sec-WebSocket-Key") != "" &&
		strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
}

func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	if s.closing.Load() {
		writeError(w, http.StatusServiceUnavailable, "shutting_down")
		return
	}
	token := r.URL.Query().Get("token")
	if token == "" {
		writeError(w, http.StatusUnauthorized, "unauthorized")
		return
	}
	hash := HashToken(token)
	sess, err := s.store.Lookup(r.Context(), hash, s.opts.SessionTTL)
	switch {
	case errors.Is(err, ErrNoSession):
		writeError(w, http.StatusUnauthorized, "unauthorized")
		return
	case err != nil:
		s.storeError("lookup", err)
		// A player this node knows may come back while the store is down.
		cached, ok := s.players.cached(hash)
		if !ok {
			writeError(w, http.StatusServiceUnavailable, "store_unavailable")
			return
		}
		sess = cached
	default:
		s.players.remember(hash, sess)
	}
	if !s.originAllowed(r) {
		writeError(w, http.StatusForbidden, "forbidden_origin")
		return
	}
	if !wsHandshakeOK(r) {
		writeError(w, http.StatusBadRequest, "bad_handshake")
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		writeError(w, http.StatusInternalServerError, "internal")
		return
	}
	netConn, rw, err := hj.Hijack()
	if err != nil {
		return
	}
	c := newConn(s, &guardConn{Conn: netConn}, sess, hash)
	if !s.track(c) {
		_ = netConn.Close()
		return
	}
	ctx := context.WithValue(r.Context(), connKey{}, c)
	socket, err := s.upgrader.UpgradeFromConn(c.nc, rw.Reader, r.WithContext(ctx))
	if err != nil {
		s.untrack(c)
		s.log.Debug("upgrade failed", "err", err)
		return
	}
	c.ws = socket
	go func() {
		defer s.recoverConn(c)
		socket.ReadLoop()
	}()
}

type connKey struct{}

// recoverGWS is gws's Recovery: it covers OnMessage only; our handlers
// recover by themselves first, so this is the last line of defence.
func (s *Server) recoverGWS(gws.Logger) {
	if v := recover(); v != nil {
		s.metrics.panics.Inc()
		s.log.Error("panic in gws handler", "panic", fmt.Sprint(v))
	}
}

// recoverConn recovers a panic on one of c's goroutines and closes c.
func (s *Server) recoverConn(c *conn) {
	if v := recover(); v != nil {
		s.metrics.panics.Inc()
		s.log.Error("panic on connection", "player", c.sess.PlayerID, "panic", fmt.Sprint(v))
		c.close(netcode.CloseInternal)
		c.finish()
	}
}
