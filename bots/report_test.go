package main

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPercentilesKnownSamples(t *testing.T) {
	// 1..100 ms, shuffled: nearest-rank percentiles are exact.
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	if got, want := AckPercentiles(s), (AckMS{P50: 50, P95: 95, P99: 99}); got != want {
		t.Errorf("1..100 ms: got %+v, want %+v", got, want)
	}

	cases := []struct {
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{nil, 50, 0},
		{[]time.Duration{7}, 1, 7},
		{[]time.Duration{7}, 99, 7},
		{[]time.Duration{1, 2, 3, 4}, 50, 2},
		{[]time.Duration{1, 2, 3, 4}, 51, 3},
		{[]time.Duration{1, 2, 3, 4}, 100, 4},
		{[]time.Duration{10, 20, 30, 40, 50, 60, 70, 80, 90, 1000}, 95, 1000},
		{[]time.Duration{10, 20, 30, 40, 50, 60, 70, 80, 90, 1000}, 90, 90},
	}
	for _, c := range cases {
		if got := Percentile(c.samples, c.p); got != c.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", c.samples, c.p, got, c.want)
		}
	}

	us := []time.Duration{1500 * time.Microsecond, 2500 * time.Microsecond}
	if got := AckPercentiles(us); got.P50 != 1.5 || got.P99 != 2.5 {
		t.Errorf("fractional ms: got %+v", got)
	}
	if !slices.IsSorted(us) {
		t.Error("samples not sorted in place")
	}
}

// requiredKeys are the top-level fields of the report every consumer may
// rely on; extraKeys are the others. Together they are the whole report.
var (
	requiredKeys = []string{"bots", "matches", "duration_s", "snapshots_per_s", "down_bytes_per_s",
		"up_bytes_per_s", "ack_ms", "rejected", "disconnects", "resumed", "inputs_lost",
		"protocol_errors", "errors", "error_samples", "behavior", "mode", "max_prediction_error", "inputs_sent",
		"reconnects", "reconnect_ms", "gave_up", "chaos", "series", "moved", "migrated"}
	extraKeys = []string{"connected", "seed", "snapshots", "ack_samples", "stale_acks", "hits", "close_codes", "max_correction",
		"chaos_cuts", "chaos_cuts_playing", "tick_rate", "started_at", "server"}
)

func TestReportJSONKeys(t *testing.T) {
	cfg := Config{N: 4, Mode: "arena", Behavior: BehaviorFight, Chaos: 0.5, URL: "http://127.0.0.1:8080"}
	tot := totals{connected: 4, snapshots: 1200, bytesDown: 4 * 10 * 1000, bytesUp: 4 * 10 * 500, inputsSent: 1100, rejected: 2,
		disconnects: 3, reconnects: 3, resumed: 2, chaosCuts: 3, chaosCutsPlaying: 2, moved: 7, migrated: 5,
		recons: []time.Duration{300 * time.Millisecond, 250 * time.Millisecond, 260 * time.Millisecond}}
	r := buildReport(cfg, 10*time.Second, tot, 1, []time.Duration{time.Millisecond, 3 * time.Millisecond}, 0, nil)
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, m["reconnect_ms"]); err != nil {
		t.Fatal(err)
	}
	m["reconnect_ms"] = compact.Bytes()
	var got []string
	for k := range m {
		got = append(got, k)
	}
	want := append(slices.Clone(requiredKeys), extraKeys...)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("keys:\n got %v\nwant %v", got, want)
	}

	var ack map[string]float64
	if err := json.Unmarshal(m["ack_ms"], &ack); err != nil {
		t.Fatal(err)
	}
	if len(ack) != 3 || ack["p50"] != 1 || ack["p95"] != 3 || ack["p99"] != 3 {
		t.Errorf("ack_ms = %v", ack)
	}
	if s := string(m["error_samples"]); s != "[]" {
		t.Errorf("error_samples = %s, want []", s)
	}
	checks := map[string]string{"bots": "4", "matches": "1", "duration_s": "10",
		"snapshots_per_s": "30", "down_bytes_per_s": "1000", "up_bytes_per_s": "500",
		"inputs_sent": "1100", "rejected": "2", "resumed": "2", "inputs_lost": "0",
		"behavior": `"fight"`, "mode": `"arena"`, "disconnects": "3", "reconnects": "3", "gave_up": "0",
		"chaos": "0.5", "chaos_cuts": "3", "series": "[]", "server": `"127.0.0.1:8080"`,
		"reconnect_ms": `{"p50":260,"p99":300,"max":300}`, "moved": "7", "migrated": "5"}
	for k, v := range checks {
		if string(m[k]) != v {
			t.Errorf("%s = %s, want %s", k, m[k], v)
		}
	}
}

// TestReportNodes: a run over a fleet's nodes names each in server, and the
// summary tells the moves.
func TestReportNodes(t *testing.T) {
	cfg := Config{N: 6, Mode: "arena", Behavior: BehaviorFight, URL: "http://127.0.0.1:8081, http://127.0.0.1:8082,http://127.0.0.1:8083/"}
	r := buildReport(cfg, 10*time.Second, totals{connected: 6, disconnects: 2, reconnects: 2, resumed: 2, moved: 9, migrated: 6}, 1, nil, 0, nil)
	if r.Server != "127.0.0.1:8081,127.0.0.1:8082,127.0.0.1:8083" {
		t.Errorf("server %q", r.Server)
	}
	var sum bytes.Buffer
	r.Summary(&sum)
	if !strings.Contains(sum.String(), "moved:          9 redirects followed, 6 seats migrated to another node") {
		t.Errorf("summary:\n%s", sum.String())
	}
	var one bytes.Buffer
	single := buildReport(Config{N: 1, URL: "http://127.0.0.1:8080"}, time.Second, totals{}, 0, nil, 0, nil)
	single.Summary(&one)
	if strings.Contains(one.String(), "moved:") {
		t.Errorf("a run without moves tells them:\n%s", one.String())
	}
}

func TestReportNoSamples(t *testing.T) {
	// No bots connected and no time elapsed: no NaN (which JSON can't hold).
	r := buildReport(Config{N: 2}, 0, totals{}, 0, nil, 2, []string{"a", "b"})
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if r.SnapshotsPerS != 0 || r.AckMS != (AckMS{}) || len(r.ErrorSamples) != 2 {
		t.Errorf("report %+v", r)
	}
}

func TestReportSoakJSON(t *testing.T) {
	r := buildReport(Config{N: 1}, time.Second, totals{}, 0, nil, 0, nil)
	r.Soak = &SoakResult{Checks: []Check{
		check("server tick p99", math.Inf(1), 8.333, "ms", "above the largest bucket"),
		check("bots errors", 0, 0, "", ""),
		check("server goroutines", math.NaN(), 20, "", "no metrics"),
	}}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var m struct {
		Soak struct {
			Checks []map[string]any `json:"checks"`
			Pass   bool             `json:"pass"`
		} `json:"soak"`
	}
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("%v\n%s", err, buf.Bytes())
	}
	c := m.Soak.Checks
	if len(c) != 3 {
		t.Fatalf("checks %v", c)
	}
	for _, k := range []string{"name", "value", "limit", "pass"} {
		if _, ok := c[0][k]; !ok {
			t.Errorf("check without %s: %v", k, c[0])
		}
	}
	if c[0]["value"] != nil || c[0]["limit"] != 8.333 || c[0]["pass"] != false {
		t.Errorf("+Inf check: %v", c[0])
	}
	if c[1]["value"] != 0.0 || c[1]["pass"] != true {
		t.Errorf("0 ≤ 0 check: %v", c[1])
	}
	if c[2]["value"] != nil || c[2]["pass"] != false {
		t.Errorf("NaN check: %v", c[2])
	}
}

func TestExitStatus(t *testing.T) {
	pass := &SoakResult{Pass: true}
	fail := &SoakResult{Pass: false}
	cases := []struct {
		rep  Report
		err  error
		want int
	}{
		{Report{}, nil, 0},
		{Report{Soak: pass}, nil, 0},
		{Report{ProtocolErrors: 2}, nil, 1},
		{Report{ProtocolErrors: 2, Soak: fail}, nil, 3},
		{Report{Soak: fail}, nil, 3},
		{Report{}, ErrNoBots, 2},
	}
	for i, c := range cases {
		if got, _ := exitStatus(&c.rep, c.err); got != c.want {
			t.Errorf("case %d: exit %d, want %d", i, got, c.want)
		}
	}
}

func TestChaosInterval(t *testing.T) {
	cases := []struct {
		chaos float64
		n     int
		want  time.Duration
	}{
		{0, 100, 0},
		{0.1, 256, 2343750 * time.Microsecond}, // a minute / 25.6
		{10, 8, 750 * time.Millisecond},
		{1, 1, time.Minute},
		{1e9, 1e6, time.Millisecond}, // floored
	}
	for _, c := range cases {
		got := chaosInterval(c.chaos, c.n)
		if d := got - c.want; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("chaosInterval(%v, %d) = %v, want %v", c.chaos, c.n, got, c.want)
		}
	}
}
