package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"skirmish/netcode"
)

// The name rules of docs/PROTOCOL.md §1: trimmed, 1..24 code points,
// printable; an empty name becomes guest- and 4 hex digits of the player
// id.
func TestSessionNameRules(t *testing.T) {
	_, base := startServer(t, Options{})
	cases := []struct {
		body   string
		status int
		name   string // "guest": a guest name
	}{
		{``, 201, "guest"},
		{`{}`, 201, "guest"},
		{`{"name":null}`, 201, "guest"},
		{`{"name":" \t "}`, 201, "guest"},
		{`{"name":" alice "}`, 201, "alice"},
		{`{"name":"a b"}`, 201, "a b"},
		{`{"name":"` + strings.Repeat("é", 24) + `"}`, 201, strings.Repeat("é", 24)},
		{`{"name":"` + strings.Repeat("😀", 24) + `"}`, 201, strings.Repeat("😀", 24)},
		{`{"name":"` + strings.Repeat("a", 25) + `"}`, 400, "bad_name"},
		{`{"name":"a\tb"}`, 400, "bad_name"},
		{`{"name":"a\u00a0b"}`, 400, "bad_name"},
		{`{"name":"a\u200db"}`, 400, "bad_name"},
		{`{"name":5}`, 400, "bad_request"},
		{`["alice"]`, 400, "bad_request"},
		{`{"pad":"` + strings.Repeat("x", 1100) + `","name":"x"}`, 400, "bad_request"},
		{`{"name":"x","other":1} trailing`, 201, "x"},
	}
	for _, tc := range cases {
		resp, err := http.Post(base+"/v1/sessions", "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Name, PlayerID, Error string }
		_ = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		switch {
		case resp.StatusCode != tc.status:
			t.Errorf("%.40s: status %d, want %d", tc.body, resp.StatusCode, tc.status)
		case tc.status != 201:
			if got.Error != tc.name {
				t.Errorf("%.40s: error %q, want %q", tc.body, got.Error, tc.name)
			}
		case tc.name == "guest":
			if len(got.PlayerID) != 18 || got.Name != "guest-"+got.PlayerID[2:6] {
				t.Errorf("%.40s: name %q for player %q, want guest-<4 hex of the id>", tc.body, got.Name, got.PlayerID)
			}
		case got.Name != tc.name:
			t.Errorf("%.40s: name %q, want %q", tc.body, got.Name, tc.name)
		}
	}
}

// The Origin allowlist of docs/PROTOCOL.md §1: the request's own host,
// localhost, and the -origins entries (whole origins, bare hosts, *).
func TestOriginAllowlist(t *testing.T) {
	cases := []struct {
		allowed []string
		origin  string
		ok      bool
	}{
		{nil, "", true}, // not a browser
		{nil, "http://game.test:8080", true},
		{nil, "https://game.test:8080", true}, // any scheme
		{nil, "http://game.test", false},      // another port
		{nil, "http://localhost:3000", true},
		{nil, "https://127.0.0.1", true},
		{nil, "http://[::1]:5173", true},
		{nil, "https://evil.example", false},
		{[]string{"https://a.example"}, "https://a.example", true},
		{[]string{"https://a.example"}, "HTTPS://A.EXAMPLE", true},
		{[]string{"https://a.example"}, "http://a.example", false},
		{[]string{"https://a.example"}, "https://a.example:443", false}, // not normalised
		{[]string{"b.example:8443"}, "http://b.example:8443", true},
		{[]string{"b.example:8443"}, "https://b.example", false},
		{[]string{"b.example"}, "https://b.example", true},
		{[]string{"*"}, "https://any.example", true},
		{[]string{"*"}, "null", false},
		{[]string{"*"}, "file://", false},
	}
	for _, tc := range cases {
		s := &Server{opts: Options{AllowedOrigins: tc.allowed}}
		r := httptest.NewRequest("GET", "http://game.test:8080/ws", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if got := s.originAllowed(r); got != tc.ok {
			t.Errorf("origins %v, Origin %q: allowed %v, want %v", tc.allowed, tc.origin, got, tc.ok)
		}
	}
}

// The answers of GET /v1/leaderboard (docs/PROTOCOL.md §1).
func TestLeaderboardAnswers(t *testing.T) {
	_, base := startServer(t, Options{})
	cases := []struct {
		method, query string
		status        int
		body, cache   string
	}{
		{"GET", "", 200, `{"mode":"arena","players":[]}`, "max-age=1"},
		{"GET", "?mode=", 200, `{"mode":"arena","players":[]}`, "max-age=1"},
		{"GET", "?mode=tag", 200, `{"mode":"tag","players":[]}`, "max-age=1"},
		{"GET", "?mode=nope", 400, `{"error":"unknown_mode"}`, "no-store"},
		{"POST", "", 405, "Method Not Allowed", ""},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, base+"/v1/leaderboard"+tc.query, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || strings.TrimSpace(string(b)) != tc.body || resp.Header.Get("Cache-Control") != tc.cache {
			t.Errorf("%s %s: %d %q (Cache-Control %q), want %d %q (%q)", tc.method, tc.query,
				resp.StatusCode, b, resp.Header.Get("Cache-Control"), tc.status, tc.body, tc.cache)
		}
	}
}

// With its store down the leaderboard answers 503 store_unavailable.
func TestLeaderboardStoreDown(t *testing.T) {
	rs := newStoppableRedis(t)
	_, base := startServer(t, Options{Redis: rs.Addr})
	rs.stop()
	resp, err := http.Get(base + "/v1/leaderboard?mode=arena")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || strings.TrimSpace(string(b)) != `{"error":"store_unavailable"}` {
		t.Errorf("leaderboard with the store down: %d %s", resp.StatusCode, b)
	}
	rs.start() // a quick shutdown
}

// A leave that succeeds gets no answer: no error, no result; the
// snapshots stop, and a queue a tick later is taken.
func TestLeaveHasNoAnswer(t *testing.T) {
	_, base := startServer(t, Options{FillTimeout: 20 * time.Millisecond})
	rc := seatedRaw(t, base, createSession(t, base))
	waitUntil(t, 2*time.Second, func() bool { return rc.snapshots() > 0 })
	rc.send(t, netcode.AppendLeave(nil))
	time.Sleep(200 * time.Millisecond)
	n := rc.snapshots()
	time.Sleep(200 * time.Millisecond)
	if got := rc.snapshots(); got != n {
		t.Errorf("%d snapshots after the leave", got-n)
	}
	if rc.has(netcode.MsgResult, 0) || rc.has(netcode.MsgError, netcode.ErrNotQueued) || rc.has(netcode.MsgError, netcode.ErrAlreadyQueued) {
		t.Error("the leave was answered")
	}
	rc.send(t, netcode.AppendQueue(nil, "arena"))
	waitUntil(t, 2*time.Second, func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		queued := 0
		for _, f := range rc.frames {
			if len(f) > 1 && f[1] == netcode.MsgQueued {
				queued++
			}
		}
		return queued == 2
	})
}

// A pong's serverTimeMs is the server's wall clock in Unix milliseconds.
func TestPongServerTimeIsUnixMs(t *testing.T) {
	_, base := startServer(t, Options{})
	rc, _, err := dialRaw(t, base, createSession(t, base), nil)
	if err != nil {
		t.Fatal(err)
	}
	rc.send(t, netcode.AppendHello(nil, netcode.Version, netcode.Version))
	before := time.Now().UnixMilli()
	rc.send(t, netcode.AppendPing(nil, 1))
	waitUntil(t, 2*time.Second, func() bool { return rc.has(netcode.MsgPong, 0) })
	after := time.Now().UnixMilli()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, f := range rc.frames {
		var m netcode.ServerMsg
		if netcode.NewReader().DecodeServer(f, &m, nil) == nil && m.Type == netcode.MsgPong {
			if ms := int64(m.ServerTimeMs); ms < before || ms > after {
				t.Errorf("serverTimeMs %d outside [%d, %d]", ms, before, after)
			}
		}
	}
}
