package main

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"skirmish/server"
	"skirmish/server/servertest"
)

func TestConfigNodes(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want []string
	}{
		{"http://127.0.0.1:8080", []string{"http://127.0.0.1:8080"}},
		{"http://a:1,http://b:2, http://c:3/n/c ,", []string{"http://a:1", "http://b:2", "http://c:3/n/c"}},
		{" , ", nil},
	} {
		cfg := Config{URL: tc.url}
		if got := cfg.Nodes(); !slices.Equal(got, tc.want) {
			t.Errorf("%q: nodes %q, want %q", tc.url, got, tc.want)
		}
	}
	ok := Config{N: 1, Duration: time.Second, Mode: "arena", Behavior: BehaviorWander}
	for url, valid := range map[string]bool{
		"http://a:1,https://b/n/b": true,
		"http://a:1":               true,
		"":                         false,
		",":                        false,
		"http://a:1,127.0.0.1:2":   false,
		"http://a:1,ftp://b":       false,
		"http://":                  false,
	} {
		cfg := ok
		cfg.URL = url
		if err := cfg.Validate(); (err == nil) != valid {
			t.Errorf("-url %q: %v", url, err)
		}
	}
	cfg := ok
	cfg.URL, cfg.Soak = "http://a:1,http://b:2", true
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "-soak") {
		t.Errorf("-soak over two nodes: %v", err)
	}
}

func TestSourceAddrNodes(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"http://127.0.0.1:8081,http://127.0.0.1:8082,http://localhost:8083", "127.1.0.3"},
		{"http://127.0.0.1:8081,http://10.0.0.1:8082", ""}, // a loopback source cannot reach 10.0.0.1
		{"http://127.0.0.1:8081,http://[::1]:8082", ""},
	} {
		cfg := Config{URL: tc.url, SourceAddrs: "127.1.0.0/16"}
		if got := cfg.sourceAddr(2); got != tc.want {
			t.Errorf("%s: bot 2 from %q, want %q", tc.url, got, tc.want)
		}
	}
}

// recordingServer runs a real server behind a handler that counts the
// requests by path, and returns its base URL and the counts.
func recordingServer(t *testing.T, prefix string) (string, func() map[string]int) {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]int{}
	_, base := servertest.StartBehind(t, server.Options{FillTimeout: 200 * time.Millisecond, Logger: quiet}, func(h http.Handler) http.Handler {
		h = http.StripPrefix(prefix, h)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[r.URL.Path]++
			mu.Unlock()
			h.ServeHTTP(w, r)
		})
	})
	return base + prefix, func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(seen)
	}
}

// TestRunNodes: with -url listing three nodes (two of them behind a path
// prefix), bot i creates its session and connects on node i mod 3. (Three
// servers without a fleet: each seats its own bots.)
func TestRunNodes(t *testing.T) {
	n1, seen1 := recordingServer(t, "")
	n2, seen2 := recordingServer(t, "/n/n2")
	n3, seen3 := recordingServer(t, "/n/n3")
	rep, err := run(context.Background(), Config{
		URL: n1 + "," + n2 + "," + n3, N: 7, Duration: 2 * time.Second, Mode: "arena",
		Behavior: BehaviorWander, Ramp: 100 * time.Millisecond, Seed: 6, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Connected != 7 || rep.Errors != 0 || rep.ProtocolErrors != 0 || rep.Disconnects != 0 || rep.Moved != 0 || rep.Migrated != 0 {
		t.Errorf("connected %d, errors %d %v, protocol errors %d, disconnects %d, moved %d, migrated %d",
			rep.Connected, rep.Errors, rep.ErrorSamples, rep.ProtocolErrors, rep.Disconnects, rep.Moved, rep.Migrated)
	}
	if rep.Matches != 3 {
		t.Errorf("%d matches, want one per server", rep.Matches)
	}
	if rep.QueueSamples != 7 || rep.QueueMS.P50 <= 0 || rep.QueueMS.Max < rep.QueueMS.P99 || rep.QueueMatchMinMS.Max > rep.QueueMS.Max {
		t.Errorf("queue_ms %+v over %d samples, queue_match_min_ms %+v", rep.QueueMS, rep.QueueSamples, rep.QueueMatchMinMS)
	}
	for i, tc := range []struct {
		seen   map[string]int
		prefix string
		bots   int
	}{{seen1(), "", 3}, {seen2(), "/n/n2", 2}, {seen3(), "/n/n3", 2}} {
		want := map[string]int{tc.prefix + "/v1/sessions": tc.bots, tc.prefix + "/ws": tc.bots}
		if !maps.Equal(tc.seen, want) {
			t.Errorf("node %d served %v, want %v", i+1, tc.seen, want)
		}
	}
	if want := strings.TrimPrefix(n1, "http://") + "," + strings.TrimPrefix(strings.TrimSuffix(n2, "/n/n2"), "http://") +
		"," + strings.TrimPrefix(strings.TrimSuffix(n3, "/n/n3"), "http://"); rep.Server != want {
		t.Errorf("server %q, want %q", rep.Server, want)
	}
}
