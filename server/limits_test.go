package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"skirmish/client"
	"skirmish/netcode"
)

// Tests of the limits on what a stranger can claim (issue: hardening §1).

// httpFrom returns an HTTP client whose connections come from the local
// address from.
func httpFrom(from string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// sessionFrom creates a session from the local address from and returns the
// response's status, Retry-After and token.
func sessionFrom(t *testing.T, base, from string, hdr http.Header) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/sessions", strings.NewReader(`{}`))
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := httpFrom(from).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), body.Token
}

func limitedCount(t *testing.T, srv *Server, what string) float64 {
	t.Helper()
	return labeledCounter(t, srv, "skirmish_limited_total", "what", what)
}

func labeledCounter(t *testing.T, srv *Server, name, label, value string) float64 {
	t.Helper()
	mfs, err := srv.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestClientIP(t *testing.T) {
	trusted, err := parsePrefixes("127.0.0.0/8, 10.0.0.0/8,::1")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, peer, xff string
		trusted         []netip.Prefix
		want            string
	}{
		{"peer", "203.0.113.7:5000", "", trusted, "203.0.113.7"},
		{"untrusted peer's header ignored", "203.0.113.7:5000", "9.9.9.9", trusted, "203.0.113.7"},
		{"no trusted proxies", "127.0.0.1:5000", "9.9.9.9", nil, "127.0.0.1"},
		{"behind a proxy", "127.0.0.1:5000", "9.9.9.9", trusted, "9.9.9.9"},
		{"two proxies", "127.0.0.1:5000", "9.9.9.9, 10.0.0.2", trusted, "9.9.9.9"},
		{"a spoofed hop left of the client", "127.0.0.1:5000", "6.6.6.6, 9.9.9.9", trusted, "9.9.9.9"},
		{"garbled hop", "127.0.0.1:5000", "junk", trusted, "127.0.0.1"},
		{"only proxies", "127.0.0.1:5000", "10.0.0.3", trusted, "10.0.0.3"},
		{"ipv6 peer via proxy", "[::1]:5000", "2001:db8::5", trusted, "2001:db8::5"},
	}
	for _, tc := range cases {
		r := &http.Request{RemoteAddr: tc.peer, Header: http.Header{}}
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := clientIP(r, tc.trusted); got.String() != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, got, tc.want)
		}
	}
	// IPv6 clients are limited by their /64.
	a, b := netip.MustParseAddr("2001:db8:1:2::1"), netip.MustParseAddr("2001:db8:1:2:ffff::9")
	if ipKey(a) != ipKey(b) || ipKey(a) == ipKey(netip.MustParseAddr("2001:db8:1:3::1")) {
		t.Error("IPv6 keys are not /64s")
	}
}

// POST /v1/sessions is rate limited per client IP, with 429 and
// Retry-After; behind a trusted proxy each forwarded client has its own
// bucket.
func TestSessionRateLimitPerIP(t *testing.T) {
	trusted, _ := parsePrefixes("127.0.0.2/32")
	srv, base := startServer(t, Options{SessionRate: 1, SessionBurst: 5, TrustedProxies: trusted})
	var ok, limited int
	for range 8 {
		code, retry, _ := sessionFrom(t, base, "127.0.0.1", nil)
		switch code {
		case http.StatusCreated:
			ok++
		case http.StatusTooManyRequests:
			limited++
			if retry == "" || retry == "0" {
				t.Errorf("429 without a Retry-After: %q", retry)
			}
		default:
			t.Fatalf("status %d", code)
		}
	}
	if ok != 5 || limited != 3 {
		t.Errorf("%d created, %d limited; want 5 and 3", ok, limited)
	}
	if got := limitedCount(t, srv, limSessionRate); got != 3 {
		t.Errorf("limited{session_rate} = %v, want 3", got)
	}
	if code, _, _ := sessionFrom(t, base, "127.0.0.3", nil); code != http.StatusCreated {
		t.Errorf("another IP: %d", code)
	}
	// Through the proxy at 127.0.0.2, two clients each get a burst.
	for _, client := range []string{"198.51.100.1", "198.51.100.2"} {
		for i := range 6 {
			code, _, _ := sessionFrom(t, base, "127.0.0.2", http.Header{"X-Forwarded-For": {client}})
			if want := http.StatusCreated; i == 5 {
				want = http.StatusTooManyRequests
				if code != want {
					t.Errorf("client %s, request %d: %d, want %d", client, i, code, want)
				}
			} else if code != want {
				t.Errorf("client %s, request %d: %d, want %d", client, i, code, want)
			}
		}
	}
}

// The in-process store has a hard cap: when full, new sessions get 503.
func TestSessionStoreCap(t *testing.T) {
	srv, base := startServer(t, Options{MaxSessions: 3})
	for i := range 3 {
		if code, _, _ := sessionFrom(t, base, "127.0.0.1", nil); code != http.StatusCreated {
			t.Fatalf("session %d: %d", i, code)
		}
	}
	resp, err := http.Post(base+"/v1/sessions", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "sessions_full") {
		t.Errorf("full store: %d %s", resp.StatusCode, b)
	}
	if limitedCount(t, srv, limSessions) != 1 {
		t.Error("limited{sessions} not counted")
	}
}

// The cache of confirmed sessions is bounded and forgets a session once
// its TTL from the last confirmation has passed.
func TestTokenCacheBounded(t *testing.T) {
	evicted := 0
	c := newTokenCache(3, func() { evicted++ })
	now := time.Unix(1000, 0)
	for i := range 5 {
		c.remember(fmt.Sprint(i), Session{PlayerID: fmt.Sprint(i)}, now.Add(time.Minute), now)
	}
	if c.len() != 3 || evicted != 2 {
		t.Errorf("len %d evicted %d, want 3 and 2", c.len(), evicted)
	}
	c.remember("x", Session{}, now.Add(time.Second), now)
	if _, ok := c.cached("x", now.Add(999*time.Millisecond)); !ok {
		t.Error("a session confirmed within its TTL refused")
	}
	if _, ok := c.cached("x", now.Add(time.Second)); ok {
		t.Error("an expired session accepted")
	}
	// Expired entries go first when the cache is full.
	c2 := newTokenCache(2, func() { t.Error("a live entry evicted while an expired one was there") })
	c2.remember("old", Session{}, now.Add(time.Second), now)
	c2.remember("live", Session{}, now.Add(time.Hour), now)
	c2.remember("new", Session{}, now.Add(time.Hour), now.Add(2*time.Second))
	if _, ok := c2.cached("live", now.Add(3*time.Second)); !ok {
		t.Error("live entry lost")
	}
}

// While the store is down, a session the store confirmed within its TTL
// may reconnect; once the TTL has passed it is refused: an expired token
// never comes back to life during an outage.
func TestTokenNotRevivedDuringOutage(t *testing.T) {
	rs := newStoppableRedis(t)
	_, base := startServer(t, Options{Redis: rs.Addr, SessionTTL: 1500 * time.Millisecond})
	tok := createSession(t, base)
	created := time.Now()
	rs.stop()
	rc, resp, err := dialRaw(t, base, tok, nil)
	if err != nil {
		t.Fatalf("a confirmed session refused during the outage: %v %v", err, resp)
	}
	_ = rc.conn.NetConn().Close()
	time.Sleep(time.Until(created.Add(1600 * time.Millisecond)))
	_, resp, err = dialRaw(t, base, tok, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("an expired session during the outage: err %v resp %v, want 503", err, resp)
	}
}

// A connection that sends no valid hello is closed with 4006 after the
// hello timeout, even if it answers every ping.
func TestHelloTimeout(t *testing.T) {
	srv, base := startServer(t, Options{HelloTimeout: 400 * time.Millisecond, PingInterval: 100 * time.Millisecond, IdleTimeout: 5 * time.Second})
	rc, _, err := dialRaw(t, base, createSession(t, base), nil)
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.answerPings = true
	rc.mu.Unlock()
	start := time.Now()
	code, reason := rc.waitClose(t, 3*time.Second)
	if el := time.Since(start); code != 4006 || reason != "hello_timeout" || el < 350*time.Millisecond || el > 900*time.Millisecond {
		t.Errorf("closed with %d %q after %v, want 4006 hello_timeout after 400 ms", code, reason, el)
	}
	rc.mu.Lock()
	pings := rc.pings
	rc.mu.Unlock()
	if pings < 2 {
		t.Errorf("only %d pings answered: the test proves nothing", pings)
	}
	waitUntil(t, time.Second, func() bool { return limitedCount(t, srv, limHelloTimeout) == 1 })
	if counterValue(t, srv, "skirmish_protocol_errors_total") != 0 {
		t.Error("a hello timeout counted as a protocol error")
	}
}

// One connection per token may wait for hello; once it has said hello,
// another may come (and replaces it on its own hello).
func TestOneConnectionWaitsForHelloPerToken(t *testing.T) {
	srv, base := startServer(t, Options{})
	tok := createSession(t, base)
	first, _, err := dialRaw(t, base, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		_, resp, err := dialRaw(t, base, tok, nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("second waiting connection: %v %v, want 429", err, resp)
		}
	}
	if got := limitedCount(t, srv, limHelloPending); got != 5 {
		t.Errorf("limited{hello_pending} = %v", got)
	}
	first.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	waitUntil(t, 2*time.Second, func() bool { return first.has(netcode.MsgWelcome, 0) })
	second, _, err := dialRaw(t, base, tok, nil)
	if err != nil {
		t.Fatalf("a connection after the first said hello: %v", err)
	}
	second.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	if code, _ := first.waitClose(t, 2*time.Second); code != 4003 {
		t.Errorf("first closed with %d, want 4003", code)
	}
}

// Each client IP may hold at most MaxConnsPerIP connections (429 over
// it), the server at most MaxConns (503); a closed connection gives its
// place back.
func TestConnectionCaps(t *testing.T) {
	srv, base := startServer(t, Options{MaxConnsPerIP: 3, MaxConns: 5})
	dial := func(from string) (*rawClient, int) {
		t.Helper()
		_, _, tok := sessionFrom(t, base, from, nil)
		rc, resp, err := dialRawFrom(t, base, tok, from, nil)
		if err != nil {
			if resp == nil {
				t.Fatal(err)
			}
			return nil, resp.StatusCode
		}
		return rc, http.StatusSwitchingProtocols
	}
	var held []*rawClient
	for i := range 3 {
		rc, code := dial("127.0.0.1")
		if code != 101 {
			t.Fatalf("connection %d: %d", i, code)
		}
		held = append(held, rc)
	}
	if _, code := dial("127.0.0.1"); code != http.StatusTooManyRequests {
		t.Errorf("4th connection of one IP: %d, want 429", code)
	}
	for range 2 {
		if _, code := dial("127.0.0.2"); code != 101 {
			t.Errorf("another IP: %d", code)
		}
	}
	if _, code := dial("127.0.0.3"); code != http.StatusServiceUnavailable {
		t.Errorf("6th connection of the server: %d, want 503", code)
	}
	if limitedCount(t, srv, limConnsPerIP) != 1 || limitedCount(t, srv, limConns) != 1 {
		t.Error("refusals not counted")
	}
	_ = held[0].conn.NetConn().Close()
	waitUntil(t, 2*time.Second, func() bool {
		rc, code := dial("127.0.0.1")
		if rc != nil {
			held = append(held, rc)
		}
		return code == 101
	})
}

// A foreign Origin is refused before the store is asked: with the store
// down it still gets 403, not 503.
func TestOriginCheckedBeforeStore(t *testing.T) {
	rs := newStoppableRedis(t)
	_, base := startServer(t, Options{Redis: rs.Addr})
	tok := createSession(t, base)
	rs.stop()
	_, resp, err := dialRaw(t, base, tok, http.Header{"Origin": {"https://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin with the store down: %v %v, want 403", err, resp)
	}
}

// Pings count against the rate limit: a ping flood gets a pong per token
// of the bucket, not one per ping.
func TestPingFloodGetsFewPongs(t *testing.T) {
	srv, base := startServer(t, Options{TickRate: 10}) // 20 frames/s, burst 10
	rc, _, err := dialRaw(t, base, createSession(t, base), nil)
	if err != nil {
		t.Fatal(err)
	}
	rc.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	start := time.Now()
	for range 300 {
		if err := rc.conn.WritePing(nil); err != nil {
			break
		}
	}
	time.Sleep(500 * time.Millisecond)
	rc.mu.Lock()
	pongs := rc.pongs
	rc.mu.Unlock()
	if limit := 10 + int(20*time.Since(start).Seconds()) + 2; pongs > limit {
		t.Errorf("%d pongs for 300 pings, want ≤ %d", pongs, limit)
	}
	if limitedCount(t, srv, limMessages) < 250 {
		t.Error("dropped pings not counted")
	}
}

// logSink is a slog handler that keeps the lines logged.
type logSink struct {
	mu    *sync.Mutex
	lines *[]string
}

func newLogSink() (*slog.Logger, func() []string) {
	s := logSink{mu: &sync.Mutex{}, lines: new([]string)}
	return slog.New(s), func() []string {
		s.mu.Lock()
		defer s.mu.Unlock()
		return append([]string(nil), *s.lines...)
	}
}

func (s logSink) Enabled(context.Context, slog.Level) bool { return true }
func (s logSink) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	s.mu.Lock()
	*s.lines = append(*s.lines, b.String())
	s.mu.Unlock()
	return nil
}
func (s logSink) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s logSink) WithGroup(string) slog.Handler      { return s }

func countLines(lines []string, prefix string) (n int, suppressed bool) {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
			suppressed = suppressed || strings.Contains(l, "suppressed=")
		}
	}
	return n, suppressed
}

// No peer makes the server log without bound: the HTTP server's complaints
// (its ErrorLog) and store failures are logged at most once a second, with
// the count of the lines suppressed.
func TestPeerCannotFloodTheLog(t *testing.T) {
	log, lines := newLogSink()
	rs := newStoppableRedis(t)
	srv, base := startServer(t, Options{Redis: rs.Addr, Logger: log})
	errLog := srv.http.ErrorLog
	for i := range 100 {
		errLog.Printf("http: bad request %d", i)
	}
	rs.stop()
	start := time.Now()
	var wg sync.WaitGroup
	for range 40 { // 40 store failures at once
		wg.Go(func() {
			resp, err := http.Post(base+"/v1/sessions", "application/json", nil)
			if err == nil {
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	time.Sleep(1100 * time.Millisecond)
	// After a second, one more line each, with the count.
	errLog.Printf("http: bad request again")
	resp, err := http.Post(base+"/v1/sessions", "application/json", nil)
	if err == nil {
		resp.Body.Close()
	}
	secs := time.Since(start).Seconds()
	got := lines()
	if n, sup := countLines(got, "http server"); n != 2 || !sup {
		t.Errorf("%d http server lines (suppressed count: %v) for 101 complaints, want 2", n, sup)
	}
	if n, sup := countLines(got, "session store"); n < 2 || float64(n) > secs+2 || !sup {
		t.Errorf("%d store error lines in %.1f s (suppressed count: %v) for 41 failures", n, secs, sup)
	}
	if n, _ := countLines(got, "redis client"); float64(n) > secs+2 {
		t.Errorf("%d lines of the Redis client in %.1f s", n, secs)
	}
	if limitedCount(t, srv, limLogs) < 99+30 {
		t.Errorf("suppressed lines counted: %v", limitedCount(t, srv, limLogs))
	}
}

// The HTTP routes have read, write and idle timeouts and a header cap: a
// slow body and an idle keep-alive are closed; the WebSocket, once
// upgraded, is not bound by them.
func TestHTTPTimeouts(t *testing.T) {
	srv, base := startServer(t, Options{HTTPReadTimeout: 300 * time.Millisecond, HTTPIdleTimeout: 300 * time.Millisecond,
		MaxHeaderBytes: 1024, FillTimeout: 50 * time.Millisecond})
	u, _ := url.Parse(base)
	closedWithin := func(c net.Conn, d time.Duration) bool {
		_ = c.SetReadDeadline(time.Now().Add(d))
		_, err := io.Copy(io.Discard, c)
		// EOF, or a reset (the server closed on bytes it did not read):
		// the server closed it; a timeout: it did not.
		var ne net.Error
		return err == nil || !(errors.As(err, &ne) && ne.Timeout())
	}
	// A body trickling in a byte every 100 ms.
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
	go func() {
		for range 30 {
			if _, err := c.Write([]byte(" ")); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	start := time.Now()
	if !closedWithin(c, 2*time.Second) || time.Since(start) > time.Second {
		t.Errorf("slow body not cut within the read timeout (%v)", time.Since(start))
	}
	waitUntil(t, time.Second, func() bool { return limitedCount(t, srv, limReadTimeout) == 1 })
	// An idle keep-alive.
	k, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	fmt.Fprintf(k, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(k)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	start = time.Now()
	_ = k.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF || time.Since(start) > time.Second {
		t.Errorf("idle keep-alive: %v after %v, want EOF after 300 ms", err, time.Since(start))
	}
	waitUntil(t, time.Second, func() bool { return limitedCount(t, srv, limIdleTimeout) == 1 })
	// A header over the cap.
	req, _ := http.NewRequest(http.MethodGet, base+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("x", 8<<10))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("big header: %v %v, want 431", err, resp)
	} else {
		resp.Body.Close()
	}
	// A player plays on, well past every HTTP timeout.
	p := playing(t, base, client.Options{})
	waitUntil(t, 5*time.Second, func() bool { return p.Stats().Snapshots > 0 })
	time.Sleep(time.Second)
	n := p.Stats().Snapshots
	time.Sleep(300 * time.Millisecond)
	if p.Stats().Snapshots <= n || p.Stats().CloseCode != 0 {
		t.Errorf("the WebSocket stopped after the HTTP timeouts: %+v", p.Stats())
	}
}

// /metrics can move to a listener of its own.
func TestMetricsOnSeparateListener(t *testing.T) {
	srv, base := startServer(t, Options{MetricsAddr: "127.0.0.1:0"})
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the public address: %d", resp.StatusCode)
	}
	ms := srv.MetricsServer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = ms.Serve(ln) }()
	resp, err = http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(b, []byte("skirmish_connections")) {
		t.Errorf("metrics listener: %d", resp.StatusCode)
	}
}

// A flood of leaderboard requests is answered from a cache: the store is
// asked about once a second, and sessions are created meanwhile.
func TestLeaderboardCached(t *testing.T) {
	srv, base := startServer(t, Options{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				resp, err := http.Get(base + "/v1/leaderboard?mode=arena")
				if err == nil {
					resp.Body.Close()
				}
			}
		})
	}
	start := time.Now()
	createSession(t, base)
	if el := time.Since(start); el > 500*time.Millisecond {
		t.Errorf("a session took %v during a leaderboard flood", el)
	}
	wg.Wait()
	if got := limitedCount(t, srv, limLeaderboard); got < 190 {
		t.Errorf("%v of 200 leaderboard requests from the cache", got)
	}
}
