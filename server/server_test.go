package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lxzan/gws"

	"skirmish/client"
	"skirmish/netcode"
)

func createSession(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Post(base+"/v1/sessions", "application/json", strings.NewReader(`{"name":"tester"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct{ Token, PlayerID, ExpiresAt string }
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create session: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	if len(s.Token) != 22 || s.PlayerID == "" || s.ExpiresAt == "" {
		t.Fatalf("bad session %+v", s)
	}
	return s.Token
}

// rawClient is a bare WebSocket peer that records what the server sends.
type rawClient struct {
	gws.BuiltinEventHandler
	conn   *gws.Conn
	mu     sync.Mutex
	frames [][]byte
	closed chan struct{}
	code   uint16
	reason string
	pings  int
	pongs  int
	// answerPings makes the client answer the server's pings.
	answerPings bool
}

func (r *rawClient) OnClose(_ *gws.Conn, err error) {
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		r.mu.Lock()
		r.code, r.reason = ce.Code, string(ce.Reason)
		r.mu.Unlock()
	}
	close(r.closed)
}

func (r *rawClient) OnPing(c *gws.Conn, p []byte) {
	r.mu.Lock()
	r.pings++
	answer := r.answerPings
	r.mu.Unlock()
	if answer {
		_ = c.WritePong(p)
	}
}

func (r *rawClient) OnPong(*gws.Conn, []byte) {
	r.mu.Lock()
	r.pongs++
	r.mu.Unlock()
}

func (r *rawClient) OnMessage(_ *gws.Conn, m *gws.Message) {
	r.mu.Lock()
	r.frames = append(r.frames, append([]byte(nil), m.Bytes()...))
	r.mu.Unlock()
	m.Close()
}

func dialRaw(t *testing.T, base, token string, hdr http.Header) (*rawClient, *http.Response, error) {
	t.Helper()
	return dialRawFrom(t, base, token, "", hdr)
}

// dialRawFrom is dialRaw from the local address from (an IP; "": any).
func dialRawFrom(t *testing.T, base, token, from string, hdr http.Header) (*rawClient, *http.Response, error) {
	t.Helper()
	u, _ := url.Parse(base)
	addr := "ws://" + u.Host + "/ws?token=" + url.QueryEscape(token)
	rc := &rawClient{closed: make(chan struct{})}
	opt := &gws.ClientOption{Addr: addr, RequestHeader: hdr}
	if from != "" {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		opt.NewDialer = func() (gws.Dialer, error) { return d, nil }
	}
	conn, resp, err := gws.NewClient(rc, opt)
	if err != nil {
		return nil, resp, err
	}
	rc.conn = conn
	go conn.ReadLoop()
	t.Cleanup(func() { _ = conn.NetConn().Close() })
	return rc, resp, nil
}

// has reports whether the server sent a message of type typ (for errors:
// with code).
func (r *rawClient) has(typ uint8, code netcode.ErrorCode) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.frames {
		var m netcode.ServerMsg
		if netcode.NewReader().DecodeServer(f, &m, nil) == nil && m.Type == typ && (typ != netcode.MsgError || m.ErrCode == code) {
			return true
		}
	}
	return false
}

// seatedRaw connects a raw client with tok, says hello and waits until it
// is seated in an arena match.
func seatedRaw(t *testing.T, base, tok string) *rawClient {
	t.Helper()
	rc, _, err := dialRaw(t, base, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	rc.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	rc.send(t, netcode.AppendQueue(nil, "arena"))
	waitUntil(t, 5*time.Second, func() bool { return rc.has(netcode.MsgMatched, 0) })
	return rc
}

func (r *rawClient) send(t *testing.T, b []byte) {
	t.Helper()
	if err := r.conn.WriteMessage(gws.OpcodeBinary, b); err != nil {
		t.Fatal(err)
	}
}

// waitClose waits for the server to close and returns the code and reason.
func (r *rawClient) waitClose(t *testing.T, within time.Duration) (uint16, string) {
	t.Helper()
	select {
	case <-r.closed:
	case <-time.After(within):
		t.Fatalf("server did not close within %v", within)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.code, r.reason
}

func TestUpgradeRefusals(t *testing.T) {
	_, base := startServer(t, Options{})
	tok := createSession(t, base)
	cases := []struct {
		name   string
		token  string
		origin string
		status int
	}{
		{"no token", "", "", 401},
		{"unknown token", "AAAAAAAAAAAAAAAAAAAAAA", "", 401},
		{"foreign origin", tok, "https://evil.example", 403},
	}
	for _, tc := range cases {
		hdr := http.Header{}
		if tc.origin != "" {
			hdr.Set("Origin", tc.origin)
		}
		_, resp, err := dialRaw(t, base, tc.token, hdr)
		if err == nil {
			t.Errorf("%s: upgraded", tc.name)
			continue
		}
		if resp == nil || resp.StatusCode != tc.status {
			t.Errorf("%s: got %v, want %d", tc.name, resp, tc.status)
		}
	}
	// Same host and localhost origins are allowed.
	for _, origin := range []string{strings.Replace(base, "127.0.0.1", "localhost", 1), base} {
		hdr := http.Header{"Origin": {origin}}
		if _, _, err := dialRaw(t, base, createSession(t, base), hdr); err != nil {
			t.Errorf("origin %s refused: %v", origin, err)
		}
	}
}

func TestSessionBodyErrors(t *testing.T) {
	_, base := startServer(t, Options{})
	for _, body := range []string{`{"name":`, `{"name":"` + strings.Repeat("x", 40) + `"}`, `{"name":"a\u0000b"}`} {
		resp, err := http.Post(base+"/v1/sessions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), `"error"`) {
			t.Errorf("body %q: %d %s", body, resp.StatusCode, b)
		}
	}
	resp, err := http.Post(base+"/v1/sessions", "application/json", nil)
	if err != nil || resp.StatusCode != 201 {
		t.Errorf("empty body: %v %v", err, resp)
	}
}

// Hostile frames close that connection with our code and short reason and
// never disturb another connection.
func TestHostileFramesCloseWithCode(t *testing.T) {
	srv, base := startServer(t, Options{})
	bystander, _, err := dialRaw(t, base, createSession(t, base), nil)
	if err != nil {
		t.Fatal(err)
	}
	bystander.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	cases := []struct {
		name   string
		frames [][]byte
		text   bool
		code   uint16
		reason string
	}{
		{"array bomb", [][]byte{netcode.AppendHello(nil, netcode.Version, netcode.Version), {0xdd, 0x7f, 0xff, 0xff, 0xff}}, false, 4000, "protocol"},
		{"garbage", [][]byte{{0xc1, 0xff, 0x00}}, false, 4000, "protocol"},
		{"input before hello", [][]byte{netcode.AppendInput(nil, &netcode.Input{Seq: 1})}, false, 4000, "protocol"},
		{"second hello", [][]byte{netcode.AppendHello(nil, netcode.Version, netcode.Version), netcode.AppendHello(nil, netcode.Version, netcode.Version)}, false, 4000, "protocol"},
		{"no common version", [][]byte{netcode.AppendHello(nil, netcode.Version+1, netcode.Version+4)}, false, 4001, "version"},
		// Versions 1 and 2 have no mode declaration in matched.
		{"a version 2 client", [][]byte{netcode.AppendHello(nil, 1, 2)}, false, 4001, "version"},
		{"too large", [][]byte{make([]byte, netcode.MaxClientFrame+1)}, false, 1009, "too_large"},
		{"text frame", [][]byte{[]byte("hello")}, true, 4000, "protocol"},
	}
	for _, tc := range cases {
		rc, _, err := dialRaw(t, base, createSession(t, base), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range tc.frames {
			op := gws.OpcodeBinary
			if tc.text {
				op = gws.OpcodeText
			}
			_ = rc.conn.WriteMessage(op, f)
		}
		code, reason := rc.waitClose(t, 3*time.Second)
		if code != tc.code || reason != tc.reason {
			t.Errorf("%s: closed with %d %q, want %d %q", tc.name, code, reason, tc.code, tc.reason)
		}
	}
	bystander.send(t, netcode.AppendPing(nil, 1))
	time.Sleep(100 * time.Millisecond)
	select {
	case <-bystander.closed:
		t.Fatal("bystander was closed")
	default:
	}
	bystander.mu.Lock()
	n := len(bystander.frames)
	bystander.mu.Unlock()
	if n != 2 { // welcome, pong
		t.Errorf("bystander got %d frames, want 2", n)
	}
	if got := counterValue(t, srv, "skirmish_protocol_errors_total"); got < 5 {
		t.Errorf("protocol errors counted: %v", got)
	}
}

// A connection over its rate limit has messages dropped; one that floods
// for 2 s is closed with 1008.
func TestRateLimitAndFlood(t *testing.T) {
	srv, base := startServer(t, Options{TickRate: 10, FillTimeout: 50 * time.Millisecond}) // 20 msg/s, burst 10
	// A player in a match, whose snapshots must keep coming during the flood.
	player := playing(t, base, client.Options{})
	rc, _, err := dialRaw(t, base, createSession(t, base), nil)
	if err != nil {
		t.Fatal(err)
	}
	rc.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	// 30 pings at once: the burst of 10 (hello took one) passes, the rest drop.
	for range 30 {
		rc.send(t, netcode.AppendPing(nil, 1))
	}
	time.Sleep(200 * time.Millisecond)
	rc.mu.Lock()
	got := len(rc.frames)
	rc.mu.Unlock()
	if got < 9 || got > 12 {
		t.Errorf("got %d answers to a burst of 30, want about 10", got)
	}
	if v := counterValue(t, srv, "skirmish_messages_rate_limited_total"); v < 15 {
		t.Errorf("rate limited counted %v", v)
	}
	// Flood: far over 10× 20/s for over 2 s, from a fresh window.
	time.Sleep(1100 * time.Millisecond)
	ping := netcode.AppendPing(nil, 1)
	start := time.Now()
	snaps0 := player.Stats().Snapshots
	for time.Since(start) < 4*time.Second {
		if rc.conn.WriteMessage(gws.OpcodeBinary, ping) != nil {
			break
		}
		select {
		case <-rc.closed:
		default:
			time.Sleep(time.Millisecond)
			continue
		}
		break
	}
	code, reason := rc.waitClose(t, 2*time.Second)
	if code != 1008 || reason != "flood" {
		t.Errorf("flood closed with %d %q", code, reason)
	}
	el := time.Since(start)
	if el < 2*time.Second {
		t.Errorf("closed after %v, before 2 s of flood", el)
	}
	// The flood did not slow the match: about 10 snapshots a second.
	if got, want := float64(player.Stats().Snapshots-snaps0), el.Seconds()*10; got < want*0.9 {
		t.Errorf("player got %v snapshots during %v of flood, want ≈ %.0f", got, el, want)
	}
}

func TestIdlePeerDroppedAndPinged(t *testing.T) {
	_, base := startServer(t, Options{PingInterval: 100 * time.Millisecond, IdleTimeout: 600 * time.Millisecond})
	rc, _, err := dialRaw(t, base, createSession(t, base), nil)
	if err != nil {
		t.Fatal(err)
	}
	// rawClient does not answer pings, and sends nothing.
	code, reason := rc.waitClose(t, 3*time.Second)
	if code != 4002 || reason != "idle" {
		t.Errorf("closed with %d %q, want 4002 idle", code, reason)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.pings < 3 {
		t.Errorf("got %d pings", rc.pings)
	}
}

// Shutdown ends matches with a result, closes every client with 1001 and
// returns well within its limit.
func TestShutdownClosesClients(t *testing.T) {
	srv, base := startServer(t, Options{FillTimeout: 50 * time.Millisecond})
	var clients []*rawClient
	for range 3 {
		rc, _, err := dialRaw(t, base, createSession(t, base), nil)
		if err != nil {
			t.Fatal(err)
		}
		rc.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
		rc.send(t, netcode.AppendQueue(nil, "arena"))
		clients = append(clients, rc)
	}
	time.Sleep(300 * time.Millisecond) // match started, snapshots flowing
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("shutdown took %v", el)
	}
	r := netcode.NewReader()
	for i, rc := range clients {
		code, reason := rc.waitClose(t, time.Second)
		if code != 1001 || reason != "shutdown" {
			t.Errorf("client %d closed with %d %q", i, code, reason)
		}
		var result bool
		rc.mu.Lock()
		for _, f := range rc.frames {
			var m netcode.ServerMsg
			if r.DecodeServer(f, &m, nil) == nil && m.Type == netcode.MsgResult && m.Outcome == netcode.OutcomeShutdown {
				result = true
			}
		}
		rc.mu.Unlock()
		if !result {
			t.Errorf("client %d got no shutdown result", i)
		}
	}
	resp, err := http.Get(base + "/healthz")
	if err == nil {
		resp.Body.Close()
		t.Error("server still accepting after shutdown")
	}
}

func TestHealthAndMetrics(t *testing.T) {
	_, base := startServer(t, Options{})
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if h["status"] != "ok" {
		t.Errorf("healthz: %v", h)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"skirmish_connections", "skirmish_matches", "skirmish_tick_duration_seconds", "skirmish_tick_overruns_total",
		"skirmish_bytes_in_total", "skirmish_bytes_out_total", "skirmish_inputs_applied_total", "skirmish_inputs_rejected_total", "skirmish_protocol_errors_total"} {
		if !strings.Contains(string(b), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	resp, err = http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "<canvas") {
		t.Errorf("/ does not serve the game page: %d", resp.StatusCode)
	}
}

// metricValues returns the values of srv's counter or gauge name, one per
// label set; ok is false when there is no such metric.
func metricValues(t *testing.T, srv *Server, name string) (vals []float64, ok bool) {
	t.Helper()
	mfs, err := srv.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				vals = append(vals, m.GetCounter().GetValue()+m.GetGauge().GetValue())
			}
			return vals, true
		}
	}
	return nil, false
}

// counterValue is the sum of srv's counter name over its labels (0 when
// absent).
func counterValue(t *testing.T, srv *Server, name string) float64 {
	t.Helper()
	vals, _ := metricValues(t, srv, name)
	sum := 0.0
	for _, v := range vals {
		sum += v
	}
	return sum
}

// A client that stops reading has its views skipped and is disconnected
// after the congestion timeout; the match's ticks and the other players'
// snapshots go on as before.
func TestStalledReaderDoesNotSlowOthers(t *testing.T) {
	// Big frames (full snapshots of 1,000 NPCs) fill the socket buffers fast.
	srv, base := startServer(t, Options{FillTimeout: 200 * time.Millisecond, ModeOpts: []string{"arena.npcs=1000"}, FullSnapshots: true, CongestedTimeout: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	player, err := client.Dial(ctx, base, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer player.Close()

	// The staller: a small receive buffer, and no read loop at all.
	u, _ := url.Parse(base)
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	staller, _, err := gws.NewClient(&gws.BuiltinEventHandler{}, &gws.ClientOption{
		Addr:      "ws://" + u.Host + "/ws?token=" + createSession(t, base),
		NewDialer: func() (gws.Dialer, error) { return dialer, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer staller.NetConn().Close()
	_ = staller.WriteMessage(gws.OpcodeBinary, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	_ = staller.WriteMessage(gws.OpcodeBinary, netcode.AppendQueue(nil, "arena"))
	player.Queue("arena")

	waitUntil(t, 5*time.Second, func() bool { return player.View().Phase == client.PhasePlaying && player.Stats().Snapshots > 10 })
	// Tick durations before the stall, for comparison.
	sumA, nA := tickStats(t, srv)
	time.Sleep(time.Second)
	sumB, nB := tickStats(t, srv)
	before := (sumB - sumA) / (nB - nA)
	snaps0, start := player.Stats().Snapshots, time.Now()
	waitUntil(t, 10*time.Second, func() bool { return counterValue(t, srv, "skirmish_views_skipped_total") > 0 })
	// The staller is congested now; it is cut after 2 s.
	waitUntil(t, 5*time.Second, func() bool { return closesByReason(t, srv, "congested") == 1 })
	if got := counterValue(t, srv, "skirmish_protocol_errors_total"); got != 0 {
		t.Errorf("a congested close counted as %v protocol errors", got)
	}
	el := time.Since(start)
	sumC, nC := tickStats(t, srv)
	rate := float64(player.Stats().Snapshots-snaps0) / el.Seconds()
	if rate < 27 {
		t.Errorf("the other player got %.1f snapshots/s during the stall, want ≈ 30", rate)
	}
	if during := (sumC - sumB) / (nC - nB); during > 2*before+0.001 {
		t.Errorf("mean tick %.2f ms during the stall, %.2f ms before", during*1000, before*1000)
	}
	if player.View().Phase != client.PhasePlaying {
		t.Error("the other player left the match")
	}
}

func waitUntil(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tickStats returns the sum and count of the tick duration histogram.
func tickStats(t *testing.T, srv *Server) (float64, float64) {
	t.Helper()
	mfs, err := srv.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "skirmish_tick_duration_seconds" {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleSum(), float64(h.GetSampleCount())
		}
	}
	return 0, 0
}

func closesByReason(t *testing.T, srv *Server, reason string) float64 {
	t.Helper()
	mfs, err := srv.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "skirmish_closes_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
