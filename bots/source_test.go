package main

import (
	"context"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"skirmish/server"
	"skirmish/server/servertest"
)

func TestNthAddr(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		i      int
		want   string
	}{
		{"127.1.0.0/16", 0, "127.1.0.1"},
		{"127.1.0.0/16", 1, "127.1.0.2"},
		{"127.1.0.0/16", 253, "127.1.0.254"},
		{"127.1.0.0/16", 254, "127.1.1.1"}, // .255 and .0 skipped
		{"127.1.0.0/16", 255, "127.1.1.2"},
		{"127.1.0.0/16", 256*254 - 1, "127.1.255.254"},
		{"127.1.0.0/16", 256 * 254, "127.1.0.1"}, // wraps around
		{"127.1.2.3/16", 0, "127.1.0.1"},         // the host bits are ignored
		{"127.1.0.0/24", 254, "127.1.0.1"},
		{"127.1.0.0/30", 0, "127.1.0.1"}, // .0 skipped, .1 .2 .3 left
		{"127.1.0.0/30", 2, "127.1.0.3"},
		{"127.1.0.0/30", 3, "127.1.0.1"},
		{"127.1.0.252/30", 3, "127.1.0.252"}, // .255 skipped
		{"127.1.0.5/32", 7, "127.1.0.5"},
		{"127.1.0.0/31", 1, "127.1.0.1"},
		{"127.1.0.0/31", 2, "127.1.0.0"},
		{"0.0.0.0/0", 0, "0.0.0.1"},
	} {
		p := netip.MustParsePrefix(tc.prefix)
		if got := nthAddr(p, tc.i).String(); got != tc.want {
			t.Errorf("nthAddr(%s, %d) = %s, want %s", tc.prefix, tc.i, got, tc.want)
		}
	}
}

func TestParseSourceAddrs(t *testing.T) {
	for _, s := range []string{"", "off", " off "} {
		if p, err := parseSourceAddrs(s); err != nil || p.IsValid() {
			t.Errorf("%q: %v %v, want off", s, p, err)
		}
	}
	if p, err := parseSourceAddrs("127.1.2.3/16"); err != nil || p.String() != "127.1.0.0/16" {
		t.Errorf("127.1.2.3/16: %v %v", p, err)
	}
	for _, s := range []string{"127.1.0.0", "127.1.0.0/33", "::1/128", "on"} {
		if _, err := parseSourceAddrs(s); err == nil {
			t.Errorf("%q: no error", s)
		}
	}
	cfg := Config{URL: "http://127.0.0.1:1", N: 1, Duration: time.Second, Mode: "arena", Behavior: BehaviorWander, SourceAddrs: "nonsense"}
	if cfg.Validate() == nil {
		t.Error("Validate accepts -source-addrs nonsense")
	}
}

func TestSourceAddr(t *testing.T) {
	for _, tc := range []struct {
		url, addrs string
		want       string
	}{
		{"http://127.0.0.1:8080", "127.1.0.0/16", "127.1.0.3"},
		{"http://127.5.6.7:8080", "127.1.0.0/16", "127.1.0.3"},
		{"http://localhost:8080", "127.1.0.0/16", "127.1.0.3"},
		{"http://LOCALHOST.:8080", "127.1.0.0/16", "127.1.0.3"},
		{"http://[::1]:8080", "127.1.0.0/16", ""}, // an IPv4 source cannot reach it
		{"http://10.0.0.1:8080", "127.1.0.0/16", ""},
		{"http://example.com", "127.1.0.0/16", ""},
		{"http://127.0.0.1:8080", "off", ""},
		{"http://127.0.0.1:8080", "", ""},
	} {
		cfg := Config{URL: tc.url, SourceAddrs: tc.addrs}
		if got := cfg.sourceAddr(2); got != tc.want {
			t.Errorf("%s with %q: bot 2 from %q, want %q", tc.url, tc.addrs, got, tc.want)
		}
	}
}

// TestRunSourceAddrs runs 6 bots with -source-addrs against a server that
// records the peer address of each request: each bot creates its session
// and opens its WebSockets, reconnects (chaos) included, from an address
// of its own. (The client's test checks that a reconnect keeps its
// address; TestNthAddr the wrap-around.)
func TestRunSourceAddrs(t *testing.T) {
	var mu sync.Mutex
	seen := map[string][]string{} // path → peer IPs
	_, base := servertest.StartBehind(t, server.Options{FillTimeout: 200 * time.Millisecond, Logger: quiet}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			mu.Lock()
			seen[r.URL.Path] = append(seen[r.URL.Path], host)
			mu.Unlock()
			h.ServeHTTP(w, r)
		})
	})

	rep, err := run(context.Background(), Config{
		URL: base, N: 6, Duration: 3 * time.Second, Mode: "arena", Behavior: BehaviorWander,
		Ramp: 100 * time.Millisecond, Seed: 5, Chaos: 20, SourceAddrs: "127.1.0.0/16", Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Connected != 6 || rep.Errors != 0 || rep.Disconnects == 0 || rep.Reconnects != rep.Disconnects {
		t.Fatalf("connected %d, errors %d %v, disconnects %d, reconnects %d", rep.Connected, rep.Errors, rep.ErrorSamples, rep.Disconnects, rep.Reconnects)
	}
	want := map[string]int{"127.1.0.1": 1, "127.1.0.2": 1, "127.1.0.3": 1, "127.1.0.4": 1, "127.1.0.5": 1, "127.1.0.6": 1}
	mu.Lock()
	defer mu.Unlock()
	sessions := map[string]int{}
	for _, ip := range seen["/v1/sessions"] {
		sessions[ip]++
	}
	if !maps.Equal(sessions, want) {
		t.Errorf("sessions from %v, want %v", sessions, want)
	}
	ws := seen["/ws"]
	if len(ws) != 6+rep.Reconnects {
		t.Errorf("%d WebSockets, want 6 + %d reconnects", len(ws), rep.Reconnects)
	}
	for _, ip := range ws {
		if want[ip] == 0 {
			t.Errorf("a WebSocket from %s, not from the range", ip)
		}
	}
	if ips := slices.Compact(slices.Sorted(slices.Values(ws))); len(ips) != 6 {
		t.Errorf("WebSockets from %v, want the 6 addresses", ips)
	}
}
