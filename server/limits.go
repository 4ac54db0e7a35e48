package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits triggered, the values of skirmish_limited_total's "what" label.
const (
	limSessionRate  = "session_rate"      // POST /v1/sessions over the per-IP rate
	limSessions     = "sessions"          // the in-process store is full
	limIPTable      = "ip_table"          // too many client IPs tracked at once
	limConnsPerIP   = "conns_per_ip"      // an IP at -max-conns-per-ip
	limConns        = "conns"             // the server at -max-conns
	limMaxPlayers   = "max_players"       // the node at -max-players (a newcomer)
	limHelloPending = "hello_pending"     // a second connection waiting for hello with one token
	limHelloTimeout = "hello_timeout"     // no hello within -hello-timeout
	limMessages     = "messages"          // a frame (ping included) over the per-connection rate
	limFlood        = "flood"             // a connection closed for flooding
	limReadTimeout  = "http_read_timeout" // a request body not read within -http-read-timeout
	limIdleTimeout  = "http_idle_timeout" // a keep-alive connection idle past -http-idle-timeout
	limLogs         = "logs"              // log lines suppressed
	limTokenCache   = "token_cache"       // a cached session evicted at the cache's cap
	limLeaderboard  = "leaderboard"       // leaderboard answered from its cache
)

// ipKey is the key of a client for per-IP limits: its IPv4 address, or the
// /64 of its IPv6 address (one subscriber's usual allocation: an attacker
// holds a whole /64 as easily as one address).
func ipKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// clientIP is the address of the client of r: the peer, or, when the peer
// is one of the trusted proxies, the client the proxies name in
// X-Forwarded-For (the rightmost address that is not a trusted proxy).
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	ip := peer.Addr().Unmap()
	if !isTrusted(ip, trusted) {
		return ip
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return ip // a garbled hop: trust nothing left of it
			}
			ip = a.Unmap()
			if !isTrusted(ip, trusted) {
				return ip
			}
		}
	}
	return ip
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parsePrefixes parses comma-separated CIDRs (a bare address is a /32 or
// /128).
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", f, err)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", f, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// ipState is what the server tracks of one client IP.
type ipState struct {
	conns  int       // WebSocket connections held (waiting for hello or not)
	tokens float64   // session-creation bucket
	last   time.Time // of the bucket
}

// ipTable tracks each client IP's connections and session rate. Entries
// live while the IP holds a connection or its bucket refills; the table
// has a hard cap (an attacker with many addresses cannot grow it).
type ipTable struct {
	mu       sync.Mutex
	m        map[netip.Addr]*ipState
	max      int
	rate     float64
	burst    float64
	perIP    int
	maxConns int
	conns    int // all connections held
	lastGC   time.Time
}

func newIPTable(max int, rate float64, burst, perIP, maxConns int) *ipTable {
	return &ipTable{m: make(map[netip.Addr]*ipState), max: max, rate: rate, burst: float64(burst), perIP: perIP, maxConns: maxConns}
}

// get returns ip's state, creating it; nil when the table is full. t.mu is
// held.
func (t *ipTable) get(ip netip.Addr, now time.Time) *ipState {
	if st := t.m[ip]; st != nil {
		return st
	}
	if len(t.m) >= t.max || now.Sub(t.lastGC) > 10*time.Second {
		t.gc(now)
	}
	if len(t.m) >= t.max {
		return nil
	}
	st := &ipState{tokens: t.burst, last: now}
	t.m[ip] = st
	return st
}

// gc drops the entries that hold nothing: no connection and a full bucket.
func (t *ipTable) gc(now time.Time) {
	t.lastGC = now
	for ip, st := range t.m {
		if st.conns == 0 && st.tokens+now.Sub(st.last).Seconds()*t.rate >= t.burst {
			delete(t.m, ip)
		}
	}
}

// allowSession takes a token from ip's session bucket. When the bucket is
// empty it returns false and how long until a token is back.
func (t *ipTable) allowSession(ip netip.Addr, now time.Time) (bool, time.Duration, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.get(ip, now)
	if st == nil {
		return false, time.Second, limIPTable
	}
	st.tokens = min(t.burst, st.tokens+now.Sub(st.last).Seconds()*t.rate)
	st.last = now
	if st.tokens < 1 {
		return false, time.Duration((1 - st.tokens) / t.rate * float64(time.Second)), limSessionRate
	}
	st.tokens--
	return true, 0, ""
}

// acquireConn reserves a connection for ip. It returns "" when granted, or
// the limit that refused it. players > 0 caps the connections held by
// then (-max-players, for a newcomer): over it, limMaxPlayers.
func (t *ipTable) acquireConn(ip netip.Addr, now time.Time, players int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conns >= t.maxConns {
		return limConns
	}
	if players > 0 && t.conns >= players {
		return limMaxPlayers
	}
	st := t.get(ip, now)
	switch {
	case st == nil:
		return limIPTable
	case st.conns >= t.perIP:
		return limConnsPerIP
	}
	st.conns++
	t.conns++
	return ""
}

// releaseConn gives back a connection acquired for ip.
func (t *ipTable) releaseConn(ip netip.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st := t.m[ip]; st != nil && st.conns > 0 {
		st.conns--
		t.conns--
	}
}

// logLimiter lets one log line through per interval and counts the ones it
// suppresses, so that no peer can make the server log without bound. Safe
// for concurrent use.
type logLimiter struct {
	every      time.Duration
	next       atomic.Int64 // unix nanoseconds before which lines are suppressed
	suppressed atomic.Int64
	onSuppress func() // counts a suppressed line (metrics)
}

// allow reports whether a line may be logged now, and how many lines were
// suppressed since the last one that was.
func (l *logLimiter) allow(now time.Time) (bool, int64) {
	n := l.next.Load()
	if now.UnixNano() < n || !l.next.CompareAndSwap(n, now.Add(l.every).UnixNano()) {
		l.suppressed.Add(1)
		if l.onSuppress != nil {
			l.onSuppress()
		}
		return false, 0
	}
	return true, l.suppressed.Swap(0)
}

// log writes a line at level through lim: at most one per interval, with
// the count of the lines suppressed before it.
func (l *logLimiter) log(log *slog.Logger, level slog.Level, msg string, args ...any) {
	ok, sup := l.allow(time.Now())
	if !ok {
		return
	}
	if sup > 0 {
		args = append(args, "suppressed", sup)
	}
	log.Log(context.Background(), level, msg, args...)
}

// limitedWriter is an io.Writer for a log.Logger (http.Server.ErrorLog):
// it passes at most one line per interval to w, and counts the rest.
type limitedWriter struct {
	lim *logLimiter
	log *slog.Logger
}

func (w limitedWriter) Write(p []byte) (int, error) {
	w.lim.log(w.log, slog.LevelWarn, "http server", "msg", strings.TrimSpace(string(p)))
	return len(p), nil
}

// tokenCache remembers sessions this node has seen confirmed by the store,
// so that their players can reconnect while the store is unreachable. An
// entry is good only until the session would expire (its TTL from the
// store's last confirmation), and the cache holds at most max entries.
type tokenCache struct {
	mu      sync.Mutex
	m       map[string]cachedSession
	max     int
	evicted func()
}

type cachedSession struct {
	sess  Session
	until time.Time
}

func newTokenCache(max int, evicted func()) *tokenCache {
	return &tokenCache{m: make(map[string]cachedSession), max: max, evicted: evicted}
}

// remember caches sess under hash until until.
func (c *tokenCache) remember(hash string, sess Session, until time.Time, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[hash]; !ok && len(c.m) >= c.max {
		for k, v := range c.m {
			if !now.Before(v.until) {
				delete(c.m, k)
			}
		}
		for k := range c.m { // still full: evict one (map order is random)
			if len(c.m) < c.max {
				break
			}
			delete(c.m, k)
			if c.evicted != nil {
				c.evicted()
			}
		}
	}
	c.m[hash] = cachedSession{sess: sess, until: until}
}

// cached returns the session under hash if the store confirmed it within
// its TTL.
func (c *tokenCache) cached(hash string, now time.Time) (Session, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok {
		return Session{}, false
	}
	if !now.Before(e.until) {
		delete(c.m, hash)
		return Session{}, false
	}
	return e.sess, true
}

// forget drops hash (the store says the session is gone).
func (c *tokenCache) forget(hash string) {
	c.mu.Lock()
	delete(c.m, hash)
	c.mu.Unlock()
}

func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// retryAfter formats d as a Retry-After header value: whole seconds, at
// least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}
