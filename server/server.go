package server

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/lxzan/gws"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"skirmish/game"
	"skirmish/match"
	"skirmish/netcode"
	"skirmish/web"
)

// Server is the Skirmish HTTP and WebSocket server.
type Server struct {
	opts      Options
	log       *slog.Logger
	store     SessionStore
	tokens    *tokenCache // sessions the store confirmed, for its outages
	ips       *ipTable
	writer    *storeWriter
	nodeID    string
	lobby     *match.Lobby
	modes     map[string]game.Mode
	modesJSON []byte // GET /v1/modes
	fleet     *fleet // nil without Redis
	// replays keeps the input logs (-record) or reads them from Redis;
	// nil when neither. record is the lobby's recording (nil: off).
	replays   *replayStore
	record    *match.Recording
	metrics   *metrics
	upgrader  *gws.Upgrader
	http      *http.Server
	metricsS  *http.Server // on Options.MetricsAddr, if set
	boards    *boardCache
	started   time.Time
	closing   atomic.Bool
	startOnce sync.Once
	// loadQuit stops the overload watcher (watchLoad); loadDone closes
	// when it has.
	loadQuit, loadDone chan struct{}

	// storeLogs and httpLogs bound what the store's failures and the
	// HTTP server's complaints about peers write to the log.
	storeLogs logLimiter
	httpLogs  logLimiter
	idleHTTP  sync.Map // net.Conn → time it went idle (keep-alive)

	mu           sync.Mutex
	conns        map[*conn]struct{}  // hijacked connections, invisible to http.Server
	idle         chan struct{}       // closed when conns empties during shutdown
	waitingHello map[string]struct{} // token hashes with a connection waiting for hello
}

// Internal caps of the per-IP table and the session cache.
const (
	maxTrackedIPs = 100_000
	minTokenCache = 4096
)

// New returns a Server for opts (zero fields take their defaults). It starts
// the matchmaker; call Serve or ListenAndServe, then Shutdown.
func New(opts Options) (*Server, error) {
	if err := opts.EnsureDefaults().Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		opts:         opts,
		log:          opts.logger(),
		metrics:      newMetrics(),
		started:      time.Now(),
		conns:        make(map[*conn]struct{}),
		waitingHello: make(map[string]struct{}),
		nodeID:       opts.NodeID,
		ips:          newIPTable(maxTrackedIPs, opts.SessionRate, opts.SessionBurst, opts.MaxConnsPerIP, opts.MaxConns),
		loadQuit:     make(chan struct{}),
		loadDone:     make(chan struct{}),
	}
	s.metrics.load.setRate(opts.TickRate)
	s.tokens = newTokenCache(max(2*opts.MaxConns, minTokenCache), func() { s.limited(limTokenCache) })
	s.storeLogs = logLimiter{every: time.Second, onSuppress: func() { s.limited(limLogs) }}
	s.httpLogs = logLimiter{every: time.Second, onSuppress: func() { s.limited(limLogs) }}
	s.boards = &boardCache{s: s, ttl: time.Second, byMode: map[string]*boardEntry{}}
	if s.nodeID == "" {
		s.nodeID = "n-" + NewPlayerID()[2:10]
	}
	var rdb redis.UniversalClient
	if opts.Redis != "" {
		SetRedisLogger(s.log)
		rs := NewRedisStore(opts.Redis, opts.RedisMaster)
		rdb = rs.rdb
		if err := rs.Ping(context.Background()); err != nil {
			// Start anyway: the store recovers by itself when Redis returns.
			s.log.Error("redis unreachable at start", "addr", opts.Redis, "err", err)
		}
		s.store = rs
		s.fleet = newFleet(s, rs.rdb)
	} else {
		s.store = NewMemoryStore(opts.MaxSessions)
	}
	s.writer = newStoreWriter(s)
	built, err := game.Build(opts.ModeOpts)
	if err != nil {
		return nil, err
	}
	modes := map[string]game.Mode{}
	for _, b := range built {
		modes[b.Def.Name] = b.Mode
	}
	s.modes = modes
	if s.modesJSON, err = modesJSON(built); err != nil {
		return nil, err
	}
	lcfg := match.LobbyConfig{
		Modes:       modes,
		FillTimeout: opts.FillTimeout,
		Admit:       s.admitPlayers,
		Match: match.Config{TickRate: opts.TickRate, Observer: s.metrics, Logger: s.log,
			FullSnapshots:    opts.FullSnapshots,
			CongestedTimeout: opts.CongestedTimeout, SeatGrace: opts.SeatGrace, Hooks: hooks{s},
			MaxSpectators: opts.MaxSpectators, SpectateDelay: opts.SpectateDelay,
			TickPhaseGroup: opts.TickPhaseGroup, RewindMax: opts.RewindMax},
	}
	if opts.Record != "" || rdb != nil {
		dir := opts.Record
		if dir == RecordRedis {
			dir = "" // Redis only (Validate saw that rdb is set)
		}
		if s.replays, err = newReplayStore(dir, opts.RecordRetention, opts.RecordMaxBytes, rdb, s.log); err != nil {
			return nil, err
		}
	}
	if opts.Record != "" {
		s.record = s.replays.recording(built)
		s.record.ChunkBytes = opts.recordChunk
		lcfg.Match.Record = s.record
	}
	if s.fleet != nil {
		lcfg.Fleet = s.fleet
		lcfg.Match.CheckpointInterval = opts.CheckpointInterval
		lcfg.Match.Checkpoints = s.fleet
	}
	lobby, err := match.NewLobby(lcfg)
	if err != nil {
		return nil, err
	}
	s.lobby = lobby
	s.metrics.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "skirmish_spectators", Help: "Spectators watching this node's matches."},
		func() float64 { return float64(lobby.Spectators()) }))
	go s.watchLoad(cmp.Or(opts.loadWindow, loadWindow), s.loadQuit, s.loadDone)
	s.upgrader = gws.NewUpgrader(&handler{s: s}, &gws.ServerOption{
		ReadMaxPayloadSize: netcode.MaxClientFrame,
		ReadBufferSize:     wsReadBuffer,
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
	mux.HandleFunc("GET /v1/modes", s.handleModes)
	mux.HandleFunc("GET /v1/fleet", s.handleFleet)
	mux.HandleFunc("GET /v1/matches/{id}/replay", s.handleReplay)
	mux.HandleFunc("GET /v1/matches", s.handleMatches)
	metricsHandler := promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
	if opts.MetricsAddr == "" {
		mux.Handle("GET /metrics", metricsHandler)
	} else {
		mm := http.NewServeMux()
		mm.Handle("GET /metrics", metricsHandler)
		s.metricsS = s.newHTTPServer(opts.MetricsAddr, mm)
	}
	mux.Handle("GET /", web.Handler(web.Files()))
	s.http = s.newHTTPServer(opts.Addr, mux)
	return s, nil
}

// newHTTPServer returns an http.Server with the server's limits: whole
// request and response deadlines (a slow body is cut), an idle timeout for
// keep-alives, a header cap, and an error log no peer can flood. A
// WebSocket leaves these limits when it is hijacked.
func (s *Server) newHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: min(5*time.Second, s.opts.HTTPReadTimeout),
		ReadTimeout:       s.opts.HTTPReadTimeout,
		WriteTimeout:      s.opts.HTTPWriteTimeout,
		IdleTimeout:       s.opts.HTTPIdleTimeout,
		MaxHeaderBytes:    s.opts.MaxHeaderBytes,
		ErrorLog:          log.New(limitedWriter{lim: &s.httpLogs, log: s.log}, "", 0),
		ConnState:         s.connState,
	}
}

// connState counts the keep-alive connections closed for idling past
// HTTPIdleTimeout.
func (s *Server) connState(c net.Conn, st http.ConnState) {
	switch st {
	case http.StateIdle:
		s.idleHTTP.Store(c, time.Now())
	case http.StateActive, http.StateHijacked:
		s.idleHTTP.Delete(c)
	case http.StateClosed:
		if v, ok := s.idleHTTP.LoadAndDelete(c); ok && time.Since(v.(time.Time)) >= s.opts.HTTPIdleTimeout-50*time.Millisecond {
			s.limited(limIdleTimeout)
		}
	}
}

// limited counts a limit that triggered.
func (s *Server) limited(what string) { s.metrics.limited.WithLabelValues(what).Inc() }

// MetricsServer returns the server of Options.MetricsAddr (nil when
// /metrics is on the main address). Serve it on its own listener; Shutdown
// stops it.
func (s *Server) MetricsServer() *http.Server { return s.metricsS }

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
	s.log.Info("listening", "addr", ln.Addr().String(), "tick_rate", s.opts.TickRate, "node", s.nodeID)
	if !web.HasPredictor() {
		s.log.Warn("the browser client's WebAssembly predictor is not built in (make build builds it): pages predict in JavaScript")
	}
	s.startOnce.Do(func() {
		if s.opts.PublicURL == "" {
			s.opts.PublicURL = "http://" + ln.Addr().String()
		}
		if s.fleet != nil {
			s.fleet.url = strings.TrimRight(s.opts.PublicURL, "/")
			s.fleet.start()
		}
	})
	return s.http.Serve(ln)
}

// Shutdown stops accepting connections and closes every WebSocket with
// 1001 after its pending frames. In a fleet with other live nodes, it
// first drains: every match goes on at another node, and its players are
// sent there (moved). Otherwise every match ends with a shutdown result.
// It returns when all connections are gone or ctx ends (then the rest are
// cut).
func (s *Server) Shutdown(ctx context.Context) error {
	if !s.closing.CompareAndSwap(false, true) {
		return errors.New("server: already shut down")
	}
	s.log.Info("shutting down")
	httpDone := make(chan error, 1)
	go func() { httpDone <- s.http.Shutdown(ctx) }()
	if s.fleet != nil && s.fleet.handOff(ctx) {
		// Drained: every match lives on at another node and every player
		// was sent there; what follows finds nothing left to end.
		s.log.Info("drained to the fleet")
	}
	lobbyErr := s.lobby.Close(ctx)
	if s.record != nil {
		// The ended matches' logs reach their files (and Redis).
		_ = s.record.Wait(ctx)
	}
	if s.replays != nil {
		s.replays.close()
	}
	close(s.loadQuit)
	<-s.loadDone

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
	if s.metricsS != nil {
		_ = s.metricsS.Shutdown(ctx)
	}
	// Results of the ended matches, seat records: written, or given up
	// (counted and logged) when ctx ends, even while the store is down.
	s.writer.close(ctx)
	if s.fleet != nil {
		s.fleet.stop(ctx)
	}
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
	now := time.Now()
	if ok, wait, why := s.ips.allowSession(ipKey(clientIP(r, s.opts.TrustedProxies)), now); !ok {
		s.limited(why)
		w.Header().Set("Retry-After", retryAfter(wait))
		writeError(w, http.StatusTooManyRequests, "rate_limited")
		return
	}
	var body struct {
		Name string `json:"name"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024))
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			s.limited(limReadTimeout) // a body sent too slowly
		}
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
	switch {
	case errors.Is(err, ErrStoreFull):
		s.limited(limSessions)
		w.Header().Set("Retry-After", "60")
		writeError(w, http.StatusServiceUnavailable, "sessions_full")
		return
	case err != nil:
		s.storeError("create", err)
		writeError(w, http.StatusServiceUnavailable, "store_unavailable")
		return
	}
	s.tokens.remember(HashToken(tok), sess, sess.ExpiresAt, now)
	s.metrics.sessions.Inc()
	writeJSON(w, http.StatusCreated, map[string]string{
		"token":     tok,
		"playerId":  sess.PlayerID,
		"name":      sess.Name,
		"expiresAt": sess.ExpiresAt.UTC().Format(time.RFC3339),
	})
}

// storeError counts a failed store operation, and logs it (at most one
// line a second: an outage must not flood the log).
func (s *Server) storeError(op string, err error) {
	s.metrics.storeErrors.WithLabelValues(op).Inc()
	s.storeLogs.log(s.log, slog.LevelError, "session store", "op", op, "err", err)
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
	body, err := s.boards.get(r.Context(), mode)
	if err != nil {
		s.storeError("leaderboard", err)
		writeError(w, http.StatusServiceUnavailable, "store_unavailable")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=1")
	_, _ = w.Write(body)
}

// boardCache answers the leaderboard endpoint from a copy at most ttl old,
// fetched by one request at a time per mode: a flood of requests costs the
// store one query a second, and takes no lock that sessions use.
type boardCache struct {
	s      *Server
	ttl    time.Duration
	mu     sync.Mutex
	byMode map[string]*boardEntry
}

type boardEntry struct {
	mu   sync.Mutex // held while fetching
	at   time.Time
	body []byte
	err  error // the store's failure, answered for ttl too
}

func (b *boardCache) get(ctx context.Context, mode string) ([]byte, error) {
	b.mu.Lock()
	e := b.byMode[mode]
	if e == nil {
		e = &boardEntry{}
		b.byMode[mode] = e // modes are the lobby's: a bounded set
	}
	b.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if (e.body != nil || e.err != nil) && time.Since(e.at) < b.ttl {
		b.s.limited(limLeaderboard)
		return e.body, e.err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	top, err := b.s.store.Leaderboard(ctx, mode, 100)
	e.at = time.Now()
	if err != nil {
		e.body, e.err = nil, err
		return nil, err
	}
	body, err := json.Marshal(map[string]any{"mode": mode, "players": top})
	if err != nil {
		return nil, err
	}
	e.body, e.err = append(body, '\n'), nil
	return e.body, nil
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
		"node":        s.nodeID,
	})
}

// handleFleet lists the live nodes of the fleet: without Redis, this one.
func (s *Server) handleFleet(w http.ResponseWriter, r *http.Request) {
	var nodes []NodeInfo
	if s.fleet != nil {
		nodes = s.fleet.Nodes()
	} else {
		players, matches := s.lobby.Counts()
		nodes = []NodeInfo{{ID: s.nodeID, URL: s.opts.PublicURL, Players: players, Matches: matches,
			Capacity: s.capacity(), Full: s.full(), Draining: s.closing.Load()}}
	}
	writeJSON(w, http.StatusOK, map[string]any{"nodes": nodes})
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
	if s.fleet != nil {
		// A page served by another node of the fleet, whose player was
		// moved here.
		for _, n := range s.fleet.Nodes() {
			if nu, err := url.Parse(n.URL); err == nil && strings.EqualFold(nu.Scheme+"://"+nu.Host, origin) {
				return true
			}
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
	// Everything that costs nothing comes before what costs: a foreign
	// page, a bad handshake or a client over its caps never reaches the
	// store.
	if !s.originAllowed(r) {
		writeError(w, http.StatusForbidden, "forbidden_origin")
		return
	}
	if !wsHandshakeOK(r) {
		writeError(w, http.StatusBadRequest, "bad_handshake")
		return
	}
	// A newcomer is refused while the node is overloaded or holds its
	// -max-players; a player the node holds (connected, queued, or seated
	// and away) is not: their reconnect must find their game.
	ip := ipKey(clientIP(r, s.opts.TrustedProxies))
	hash := HashToken(token)
	known := s.lobby.Holds(hash)
	if !known && s.metrics.load.overloaded() {
		s.metrics.refused.WithLabelValues(refusedOverload).Inc()
		writeError(w, http.StatusServiceUnavailable, "server_full")
		return
	}
	maxPlayers := s.opts.MaxPlayers
	if known {
		maxPlayers = 0
	}
	switch why := s.ips.acquireConn(ip, time.Now(), maxPlayers); why {
	case "":
	case limConns:
		s.limited(why)
		writeError(w, http.StatusServiceUnavailable, "server_full")
		return
	case limMaxPlayers:
		s.metrics.refused.WithLabelValues(refusedMaxPlayers).Inc()
		writeError(w, http.StatusServiceUnavailable, "server_full")
		return
	default:
		s.limited(why)
		writeError(w, http.StatusTooManyRequests, "too_many_connections")
		return
	}
	if !s.waitForHello(hash) {
		s.ips.releaseConn(ip)
		s.limited(limHelloPending)
		writeError(w, http.StatusTooManyRequests, "hello_pending")
		return
	}
	if !s.upgrade(w, r, ip, hash) {
		s.ips.releaseConn(ip)
		s.doneWaiting(hash)
	}
}

// waitForHello takes hash's slot of connections waiting for hello: one per
// token at a time.
func (s *Server) waitForHello(hash string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, busy := s.waitingHello[hash]; busy {
		return false
	}
	s.waitingHello[hash] = struct{}{}
	return true
}

// doneWaiting gives back hash's slot taken by waitForHello.
func (s *Server) doneWaiting(hash string) {
	s.mu.Lock()
	delete(s.waitingHello, hash)
	s.mu.Unlock()
}

// upgrade looks the session up and turns the request into a tracked
// WebSocket connection; it reports false (the response written) when it
// did not.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request, ip netip.Addr, hash string) bool {
	now := time.Now()
	sess, err := s.store.Lookup(r.Context(), hash, s.opts.SessionTTL)
	switch {
	case errors.Is(err, ErrNoSession):
		s.tokens.forget(hash)
		writeError(w, http.StatusUnauthorized, "unauthorized")
		return false
	case err != nil:
		s.storeError("lookup", err)
		// A session the store confirmed within its TTL may come back while
		// the store is down; an expired one never does.
		cached, ok := s.tokens.cached(hash, now)
		if !ok {
			writeError(w, http.StatusServiceUnavailable, "store_unavailable")
			return false
		}
		sess = cached
	default:
		s.tokens.remember(hash, sess, now.Add(s.opts.SessionTTL), now)
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		writeError(w, http.StatusInternalServerError, "internal")
		return false
	}
	netConn, rw, err := hj.Hijack()
	if err != nil {
		return false
	}
	c := newConn(s, netConn, sess, hash, ip)
	c.waiting.Store(true)
	if !s.track(c) {
		_ = netConn.Close()
		return false
	}
	ctx := context.WithValue(r.Context(), connKey{}, c)
	socket, err := s.upgrader.UpgradeFromConn(c.nc, wsReader(c.nc, rw.Reader), r.WithContext(ctx))
	if err != nil {
		s.untrack(c)
		c.nc.closeNow()
		s.log.Debug("upgrade failed", "err", err)
		return false
	}
	c.ws.Store(socket)
	s.metrics.connections.Inc()
	go func() {
		defer s.recoverConn(c)
		socket.ReadLoop()
	}()
	return true
}

type connKey struct{}

// wsReadBuffer is the size of a WebSocket connection's read buffer: client
// frames are small (an input is about 12 bytes), and a larger payload is
// read straight into its message.
const wsReadBuffer = 512

// wsReader returns the buffered reader gws reads a WebSocket's frames
// from: one of its own over the socket, below net/http's connection reader
// and its 4 KB buffer (both dropped with the request), which costs a lock
// and a check per read. Bytes the client sent right after its request,
// already read into net/http's buffer, are read first.
func wsReader(nc net.Conn, httpBuf *bufio.Reader) *bufio.Reader {
	var src io.Reader = nc
	if n := httpBuf.Buffered(); n > 0 {
		early, _ := httpBuf.Peek(n)
		src = io.MultiReader(bytes.NewReader(bytes.Clone(early)), nc)
	}
	return bufio.NewReaderSize(src, wsReadBuffer)
}

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
		c.closeWith(netcode.CloseInternal)
		c.finish()
	}
}
