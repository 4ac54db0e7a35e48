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

	"skirmish/client"
	"skirmish/netcode"
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
		"chaos_cuts", "chaos_cuts_playing", "tick_rate", "started_at", "server",
		"queue_ms", "queue_samples", "queue_match_min_ms", "migrate_ms", "migrate_drain_ms", "migrate_death_ms",
		"migrated_drain", "migrated_death", "cpu_s", "cpu_cores", "cpu_us_per_bot_tick", "late_sends", "drains", "refused",
		"interp_delay_ms", "empty_buffer_pct", "corrections_over_1u", "hitscan_shots", "hitscan_hits", "hit_ratio"}
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

// TestReportQueueAndMigrations: queue_ms over every sample and
// queue_match_min_ms over each match's shortest; migrate_ms over every
// migration, split by drain and death, and when the first and last were.
func TestReportQueueAndMigrations(t *testing.T) {
	msd := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tot := totals{connected: 6, migrated: 5,
		queues: []queueSample{{"m1", msd(3000)}, {"m1", msd(40)}, {"m1", msd(900)}, {"m2", msd(20)}, {"m2", msd(2000)}, {"m3", msd(60)}},
		migs: []migration{
			{at: at.Add(2 * time.Second), d: msd(1500)},
			{at: at.Add(1100 * time.Millisecond), d: msd(900)},
			{at: at.Add(3500 * time.Millisecond), d: msd(4200)},
			{at: at.Add(250 * time.Millisecond), d: msd(80), drain: true},
			{at: at.Add(300 * time.Millisecond), d: msd(120), drain: true},
		}}
	r := buildReport(Config{N: 6, URL: "http://a:1,http://b:2"}, 10*time.Second, tot, 3, nil, 0, nil)
	for _, c := range []struct {
		name      string
		got, want SpanMS
	}{
		{"queue_ms", r.QueueMS, SpanMS{P50: 60, P99: 3000, Max: 3000}},
		{"queue_match_min_ms", r.QueueMatchMinMS, SpanMS{P50: 40, P99: 60, Max: 60}},
		{"migrate_ms", r.MigrateMS, SpanMS{P50: 900, P99: 4200, Max: 4200}},
		{"migrate_drain_ms", r.MigrateDrainMS, SpanMS{P50: 80, P99: 120, Max: 120}},
		{"migrate_death_ms", r.MigrateDeathMS, SpanMS{P50: 1500, P99: 4200, Max: 4200}},
	} {
		if c.got != c.want {
			t.Errorf("%s %+v, want %+v", c.name, c.got, c.want)
		}
	}
	if r.QueueSamples != 6 || r.MigratedDrain != 2 || r.MigratedDeath != 3 {
		t.Errorf("queue samples %d, migrated drain %d death %d", r.QueueSamples, r.MigratedDrain, r.MigratedDeath)
	}
	if r.FirstMigratedAt != "2026-01-02T03:04:05.250Z" || r.LastMigratedAt != "2026-01-02T03:04:08.500Z" {
		t.Errorf("migrated from %s to %s", r.FirstMigratedAt, r.LastMigratedAt)
	}
	var sum bytes.Buffer
	r.Summary(&sum)
	for _, want := range []string{
		"queue→matched:  p50 60ms p99 3000ms max 3000ms (6 seatings); shortest per match (no fill wait) p50 40ms p99 60ms max 60ms",
		"migrations:     5: p50 900ms p99 4200ms max 4200ms",
		"  after drain:  2: p50 80ms p99 120ms max 120ms",
		"  after death:  3: p50 1500ms p99 4200ms max 4200ms",
		"  resumed:      first at " + at.Add(250*time.Millisecond).Local().Format("15:04:05.000") + ", last at ",
	} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}
	var none bytes.Buffer
	r = buildReport(Config{N: 1}, time.Second, totals{}, 0, nil, 0, nil)
	r.Summary(&none)
	if strings.Contains(none.String(), "queue→matched") || strings.Contains(none.String(), "migrations:") || r.FirstMigratedAt != "" {
		t.Errorf("a run without samples tells them:\n%s", none.String())
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

// The bots' CPU figures: the process's CPU time over the run, as a share of
// one core and per snapshot received.
func TestReportCPU(t *testing.T) {
	tot := totals{connected: 4, snapshots: 1200, cpu: 60 * time.Millisecond}
	r := buildReport(Config{N: 4}, 10*time.Second, tot, 1, nil, 0, nil)
	if r.CPUS != 0.06 || r.CPUCores != 0.006 || r.CPUUsPerBotTick != 50 {
		t.Errorf("cpu_s %v cpu_cores %v cpu_us_per_bot_tick %v, want 0.06, 0.006 and 50", r.CPUS, r.CPUCores, r.CPUUsPerBotTick)
	}
	var buf bytes.Buffer
	r.Summary(&buf)
	if want := "bots CPU:       0.6% of one core = 50.0 us per bot-tick (0.1s)"; !strings.Contains(buf.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, buf.String())
	}
	if r := buildReport(Config{N: 4}, 10*time.Second, totals{cpu: time.Second}, 0, nil, 0, nil); r.CPUUsPerBotTick != 0 {
		t.Errorf("cpu_us_per_bot_tick %v without snapshots, want 0", r.CPUUsPerBotTick)
	}
}

func TestProcessCPUGrows(t *testing.T) {
	before := processCPU()
	x := uint64(1)
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
		x = x*6364136223846793005 + 1442695040888963407
	}
	if x == 0 {
		t.Log("unreachable")
	}
	if d := processCPU() - before; d < 10*time.Millisecond {
		t.Errorf("process CPU grew by %v over 50 ms of busy work", d)
	}
}

// The interpolation and hitscan figures: percentiles of the bots' summed
// delay histograms, the share of frames with an empty buffer, the
// corrections over 1 u and the hit ratio, in the JSON, the summary and the
// HTML page.
func TestReportInterpAndHitscan(t *testing.T) {
	tot := totals{connected: 2, frames: 400, emptyBuffer: 2, correctionsOver1u: 3, hitscanShots: 40, hitscanHits: 30}
	var a, b client.DelayHist
	a[60], a[70] = 100, 95
	b[70], b[200] = 200, 5
	tot.interpDelay.Add(&a)
	tot.interpDelay.Add(&b)
	r := buildReport(Config{N: 2, Mode: "arena"}, 10*time.Second, tot, 1, nil, 0, nil)
	if r.InterpDelayMS != (InterpDelayMS{P50: 70.5, P99: 200.5}) || r.EmptyBufferPct != 0.5 || r.CorrectionsOver1u != 3 ||
		r.HitscanShots != 40 || r.HitscanHits != 30 || r.HitRatio != 0.75 {
		t.Errorf("report %+v %v %v %v %v %v", r.InterpDelayMS, r.EmptyBufferPct, r.CorrectionsOver1u, r.HitscanShots, r.HitscanHits, r.HitRatio)
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"interp_delay_ms": {
    "p50": 70.5,
    "p99": 200.5
  }`, `"empty_buffer_pct": 0.5`, `"corrections_over_1u": 3`, `"hit_ratio": 0.75`, `"hitscan_shots": 40`} {
		if !strings.Contains(js.String(), want) {
			t.Errorf("JSON lacks %s:\n%s", want, js.String())
		}
	}
	var sum bytes.Buffer
	r.Summary(&sum)
	for _, want := range []string{"corrections over 1u 3", "interpolation:  delay p50 70.5ms p99 200.5ms, empty buffer 0.50% of frames",
		"hitscan:        40 shots, 30 scored, hit ratio 0.750"} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}
	var page strings.Builder
	r.summaryTables(&page)
	for _, want := range []string{"70.5 / 200.5 ms", "0.50 % of frames", "0.750 (40)", "corrections over 1 u"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

// A bot counts the hitscan events its own avatar scored (by the event's
// name, whatever its type), not others', and its shots are its client's
// aimed presses of the actions named "hitscan" (by the bit matched
// declares).
func TestHitscanAccounting(t *testing.T) {
	r := &runner{matchIDs: map[string]struct{}{}}
	b := &bot{r: r, pong: make(chan struct{}, 1)}
	var m netcode.ServerMsg
	m.Type = netcode.MsgMatched
	m.Matched = netcode.Matched{MatchID: "m1", Entity: 7, TickRate: 30, Info: netcode.ModeInfo{
		Actions: []netcode.Action{{Bit: 0, Name: "fire", Aimed: true}, {Bit: 3, Name: "hitscan", Aimed: true, CooldownTicks: 30}},
		Events:  []netcode.EventDecl{{Type: 4, Name: "hit"}, {Type: 9, Name: "hitscan"}}}}
	b.onMessage(&m)
	m = netcode.ServerMsg{Type: netcode.MsgSnapshot}
	m.Snapshot.Events = []netcode.Event{{Type: 9, A: 7, B: 2}, {Type: 9, A: 2, B: 7}, {Type: 4, A: 7, B: 3}, {Type: 9, A: 7, B: 3}}
	b.onMessage(&m)
	if got := b.hitscans.Load(); got != 2 {
		t.Errorf("hitscans %d, want 2 (the events whose A is the bot's avatar)", got)
	}
	if got := b.hits.Load(); got != 1 {
		t.Errorf("hits %d, want 1", got)
	}
	var st client.Stats
	st.AimedShots[0], st.AimedShots[3] = 11, 4
	if got := b.shots(&st); got != 4 {
		t.Errorf("shots %d, want 4 (bit 3's, not fire's)", got)
	}
}
