package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"skirmish/client"
)

// maxErrorSamples bounds Report.ErrorSamples.
const maxErrorSamples = 10

// Report is the outcome of a run, written as JSON by -report. Per-bot rates
// are totals divided by the measured duration and by Bots.
type Report struct {
	Bots          int     `json:"bots"`
	Connected     int     `json:"connected"` // bots whose Dial succeeded
	Behavior      string  `json:"behavior"`
	Mode          string  `json:"mode"`
	Seed          uint64  `json:"seed"`
	Server        string  `json:"server"`     // host:port of -url (of each node, comma-separated)
	StartedAt     string  `json:"started_at"` // RFC 3339, UTC
	TickRate      int     `json:"tick_rate"`  // of the matches the bots played; 0: none
	Matches       int     `json:"matches"`    // distinct match ids the bots were seated in
	DurationS     float64 `json:"duration_s"`
	Snapshots     int     `json:"snapshots"`
	SnapshotsPerS float64 `json:"snapshots_per_s"`
	DownBytesPerS float64 `json:"down_bytes_per_s"`
	UpBytesPerS   float64 `json:"up_bytes_per_s"`
	AckMS         AckMS   `json:"ack_ms"`
	AckSamples    int     `json:"ack_samples"`
	// StaleAcks are acks the client reported for inputs sent before the
	// current match was seated (a previous match), or resent after a
	// resume; they are left out of AckMS.
	StaleAcks  int `json:"stale_acks"`
	InputsSent int `json:"inputs_sent"`
	// LateSends are the input sends the clients dropped because they left
	// too late for their tick (a stalled timer or process); Drains the
	// sends they postponed to drain the server's queue after an input
	// missed its tick. Both count stalls of the bots' machine or the
	// server's.
	LateSends int `json:"late_sends"`
	Drains    int `json:"drains"`
	Rejected  int `json:"rejected"`
	Hits      int `json:"hits"` // hits scored by the bots' shots
	// Refused counts the server's refusals for want of room: queue
	// requests answered server_full, and sessions or connections answered
	// 503 (the bot tries again after a backoff). They are the server
	// degrading as it should under overload, not errors.
	Refused int `json:"refused"`
	// Chaos is -chaos: connections cut per bot per minute; ChaosCuts the
	// cuts made, ChaosCutsPlaying those of bots seated in a match (the
	// others were queued), each of which should be resumed.
	Chaos            float64 `json:"chaos"`
	ChaosCuts        int     `json:"chaos_cuts"`
	ChaosCutsPlaying int     `json:"chaos_cuts_playing"`
	// Disconnects counts connections that dropped unasked (chaos cuts
	// included) and that the client then tried to get back; Reconnects
	// those it got back; Resumed those that got their seat back.
	Disconnects int `json:"disconnects"`
	Reconnects  int `json:"reconnects"`
	Resumed     int `json:"resumed"`
	// Moved counts the moved messages the bots followed (redirects to
	// another node, close 4007: no disconnect); Migrated the seats resumed
	// on another node than the one that held them, after it died or
	// drained.
	Moved    int `json:"moved"`
	Migrated int `json:"migrated"`
	// ReconnectMS are percentiles of the outages: from the drop until the
	// client was back (seated again, or in the lobby).
	ReconnectMS ReconnectMS `json:"reconnect_ms"`
	// QueueMS are percentiles of the time from sending queue to the
	// matched of a new match (moved messages between nodes included), over
	// QueueSamples matches joined. It holds the fill wait: a match waits
	// for players up to the server's -fill-timeout. QueueMatchMinMS leaves
	// that out: percentiles, over the matches, of the shortest queue time
	// of each match's players, the one whose queue filled it (or joined it
	// running).
	QueueMS         SpanMS `json:"queue_ms"`
	QueueSamples    int    `json:"queue_samples"`
	QueueMatchMinMS SpanMS `json:"queue_match_min_ms"`
	// MigrateMS are percentiles of the migrations (the seats resumed on
	// another node): from the loss of the old node (the drop, or the
	// moved message) until the matched that resumed the seat on the new
	// one. MigrateDrainMS are those that followed a moved message (the
	// node drained; MigratedDrain of them), MigrateDeathMS those after a
	// drop (the node died; MigratedDeath of them).
	MigrateMS      SpanMS `json:"migrate_ms"`
	MigrateDrainMS SpanMS `json:"migrate_drain_ms"`
	MigrateDeathMS SpanMS `json:"migrate_death_ms"`
	MigratedDrain  int    `json:"migrated_drain"`
	MigratedDeath  int    `json:"migrated_death"`
	// FirstMigratedAt and LastMigratedAt are when the first and the last
	// seat was resumed on another node (RFC 3339 in UTC, ms), to compare
	// with when a node was killed or drained; empty without migrations.
	FirstMigratedAt string `json:"first_migrated_at,omitempty"`
	LastMigratedAt  string `json:"last_migrated_at,omitempty"`
	// GaveUp counts bots whose client gave up its connection before the
	// end of the run (a close it does not reconnect after, e.g. replaced).
	GaveUp int `json:"gave_up"`
	// CloseCodes counts the bots that gave up by the close code the server
	// sent ("0": the connection dropped without a close frame).
	CloseCodes map[string]int `json:"close_codes"`
	// InputsLost counts inputs the server reported as never received
	// (reject code missing); a resume must lose none.
	InputsLost     int     `json:"inputs_lost"`
	ProtocolErrors int     `json:"protocol_errors"`
	MaxPredError   float64 `json:"max_prediction_error"`
	MaxCorrection  float64 `json:"max_correction"`
	// InterpDelayMS are percentiles, over every frame the bots drew (each
	// control update's view), of how far behind the newest snapshot the
	// render time of other entities was (adaptive interpolation: about 2
	// snapshot intervals + 1.25 × the arrival jitter p95). 1 ms buckets:
	// a figure is the middle of its bucket.
	InterpDelayMS InterpDelayMS `json:"interp_delay_ms"`
	// EmptyBufferPct is the share of those frames, in percent, whose
	// render time had no pair of snapshots around it (others were held).
	EmptyBufferPct float64 `json:"empty_buffer_pct"`
	// CorrectionsOver1u counts the reconciliations that moved a bot's
	// predicted avatar by more than 1 unit.
	CorrectionsOver1u int `json:"corrections_over_1u"`
	// HitscanShots counts the inputs that pressed the mode's action named
	// "hitscan" at a target under the bot's crosshair in its own view
	// (aimed at the target as the bot drew it); HitscanHits the events
	// named "hitscan" whose shooter was a bot's avatar; HitRatio the
	// second over the first (0 without shots).
	HitscanShots int     `json:"hitscan_shots"`
	HitscanHits  int     `json:"hitscan_hits"`
	HitRatio     float64 `json:"hit_ratio"`
	// CPUS is the CPU time (user and system) the bots process used during
	// the run; CPUCores the same over the run's duration (1: one core
	// busy); CPUUsPerBotTick the same per snapshot the bots received (a
	// bot-tick: one snapshot in, one input out), in microseconds; 0
	// without snapshots.
	CPUS            float64  `json:"cpu_s"`
	CPUCores        float64  `json:"cpu_cores"`
	CPUUsPerBotTick float64  `json:"cpu_us_per_bot_tick"`
	Errors          int      `json:"errors"`
	ErrorSamples    []string `json:"error_samples"`
	// Series has a sample of every second of the run.
	Series []Sample `json:"series"`
	// Soak holds the checks of -soak; absent without it.
	Soak *SoakResult `json:"soak,omitempty"`
}

// InterpDelayMS are percentiles of the interpolation delay in
// milliseconds.
type InterpDelayMS struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
}

// SpanMS are percentiles of durations in milliseconds.
type SpanMS struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// ReconnectMS are percentiles of the reconnect outages in milliseconds.
type ReconnectMS = SpanMS

// Spans returns the p50, p99 and max of samples in milliseconds; zeros for
// none. It leaves samples as they are.
func Spans(samples []time.Duration) SpanMS {
	if len(samples) == 0 {
		return SpanMS{}
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	return SpanMS{
		P50: round3(ms(Percentile(sorted, 50))),
		P99: round3(ms(Percentile(sorted, 99))),
		Max: round3(ms(sorted[len(sorted)-1])),
	}
}

// AckMS are percentiles of the input acknowledgement latency in
// milliseconds.
type AckMS struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// AckPercentiles returns the p50, p95 and p99 of samples in milliseconds.
// It sorts samples in place.
func AckPercentiles(samples []time.Duration) AckMS {
	slices.Sort(samples)
	ms := func(p float64) float64 { return round3(float64(Percentile(samples, p)) / float64(time.Millisecond)) }
	return AckMS{P50: ms(50), P95: ms(95), P99: ms(99)}
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted: the smallest sample such that at least p% of the samples are at
// most it. It returns 0 for no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// totals are the counters summed over all bots at the end of a run.
type totals struct {
	connected, snapshots, inputsSent, rejected, protocolErrors, hits, staleAcks int
	refused                                                                     int
	disconnects, reconnects, resumed, inputsLost, gaveUp, tickRate              int
	lateSends, drains                                                           int
	moved, migrated                                                             int
	chaosCuts, chaosCutsPlaying                                                 int
	bytesDown, bytesUp                                                          int64
	cpu                                                                         time.Duration // the process's CPU time over the run
	maxPredError, maxCorrection                                                 float64
	frames, emptyBuffer, correctionsOver1u                                      int
	hitscanShots, hitscanHits                                                   int
	interpDelay                                                                 client.DelayHist
	recons                                                                      []time.Duration // reconnect outages
	queues                                                                      []queueSample   // queue → matched
	migs                                                                        []migration     // seats resumed elsewhere
}

// buildReport assembles the report of a run of cfg that lasted elapsed.
func buildReport(cfg Config, elapsed time.Duration, t totals, matches int, acks []time.Duration, errs int, samples []string) Report {
	r := Report{
		Bots:             cfg.N,
		Connected:        t.connected,
		Behavior:         cfg.Behavior,
		Mode:             cfg.Mode,
		Seed:             cfg.Seed,
		Server:           serverHost(cfg.URL),
		TickRate:         t.tickRate,
		Matches:          matches,
		DurationS:        round3(elapsed.Seconds()),
		Snapshots:        t.snapshots,
		AckMS:            AckPercentiles(acks),
		AckSamples:       len(acks),
		StaleAcks:        t.staleAcks,
		InputsSent:       t.inputsSent,
		LateSends:        t.lateSends,
		Drains:           t.drains,
		Rejected:         t.rejected,
		Refused:          t.refused,
		Hits:             t.hits,
		Chaos:            cfg.Chaos,
		ChaosCuts:        t.chaosCuts,
		ChaosCutsPlaying: t.chaosCutsPlaying,
		Disconnects:      t.disconnects,
		Reconnects:       t.reconnects,
		Resumed:          t.resumed,
		Moved:            t.moved,
		Migrated:         t.migrated,
		GaveUp:           t.gaveUp,
		InputsLost:       t.inputsLost,
		ProtocolErrors:   t.protocolErrors,
		MaxPredError:     round3(t.maxPredError),
		MaxCorrection:    round3(t.maxCorrection),
		Errors:           errs,
		ErrorSamples:     append([]string{}, samples...), // [] rather than null
		CloseCodes:       map[string]int{},
		Series:           []Sample{},
	}
	r.ReconnectMS = Spans(t.recons)
	r.InterpDelayMS = InterpDelayMS{P50: t.interpDelay.Percentile(50), P99: t.interpDelay.Percentile(99)}
	if t.frames > 0 {
		r.EmptyBufferPct = round3(100 * float64(t.emptyBuffer) / float64(t.frames))
	}
	r.CorrectionsOver1u = t.correctionsOver1u
	r.HitscanShots, r.HitscanHits = t.hitscanShots, t.hitscanHits
	if t.hitscanShots > 0 {
		r.HitRatio = round3(float64(t.hitscanHits) / float64(t.hitscanShots))
	}
	r.CPUS = round3(t.cpu.Seconds())
	if s := elapsed.Seconds(); s > 0 {
		r.CPUCores = round3(t.cpu.Seconds() / s)
	}
	if t.snapshots > 0 {
		r.CPUUsPerBotTick = round3(float64(t.cpu/time.Nanosecond) / 1e3 / float64(t.snapshots))
	}
	r.queueSpans(t.queues)
	r.migrationSpans(t.migs)
	if s := elapsed.Seconds(); s > 0 && cfg.N > 0 {
		per := s * float64(cfg.N)
		r.SnapshotsPerS = round3(float64(t.snapshots) / per)
		r.DownBytesPerS = round3(float64(t.bytesDown) / per)
		r.UpBytesPerS = round3(float64(t.bytesUp) / per)
	}
	return r
}

// queueSpans sets the queue fields of r from the samples qs.
func (r *Report) queueSpans(qs []queueSample) {
	all := make([]time.Duration, 0, len(qs))
	shortest := map[string]time.Duration{}
	for _, q := range qs {
		all = append(all, q.d)
		if d, ok := shortest[q.match]; !ok || q.d < d {
			shortest[q.match] = q.d
		}
	}
	perMatch := make([]time.Duration, 0, len(shortest))
	for _, d := range shortest {
		perMatch = append(perMatch, d)
	}
	r.QueueMS, r.QueueSamples, r.QueueMatchMinMS = Spans(all), len(all), Spans(perMatch)
}

// migrationSpans sets the migration fields of r from migs.
func (r *Report) migrationSpans(migs []migration) {
	var all, drain, death []time.Duration
	var first, last time.Time
	for _, m := range migs {
		all = append(all, m.d)
		if m.drain {
			drain = append(drain, m.d)
		} else {
			death = append(death, m.d)
		}
		if first.IsZero() || m.at.Before(first) {
			first = m.at
		}
		if m.at.After(last) {
			last = m.at
		}
	}
	r.MigrateMS, r.MigrateDrainMS, r.MigrateDeathMS = Spans(all), Spans(drain), Spans(death)
	r.MigratedDrain, r.MigratedDeath = len(drain), len(death)
	if len(migs) > 0 {
		r.FirstMigratedAt = first.UTC().Format(migratedAtLayout)
		r.LastMigratedAt = last.UTC().Format(migratedAtLayout)
	}
}

// migratedAtLayout is RFC 3339 with milliseconds.
const migratedAtLayout = "2006-01-02T15:04:05.000Z07:00"

// serverHost returns the host:port of the base URL u, or of each of a
// comma-separated list of them.
func serverHost(u string) string {
	var hosts []string
	for n := range strings.SplitSeq(u, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		p, err := url.Parse(n)
		if err != nil {
			return ""
		}
		hosts = append(hosts, p.Host)
	}
	return strings.Join(hosts, ",")
}

// WriteJSON writes r, indented, to w.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteFile writes r as JSON to the file path.
func (r *Report) WriteFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Summary writes r in human-readable form.
func (r *Report) Summary(w io.Writer) {
	fmt.Fprintf(w, "--- %d bots (%d connected), mode %s, behavior %s, %.1fs\n", r.Bots, r.Connected, r.Mode, r.Behavior, r.DurationS)
	fmt.Fprintf(w, "matches:        %d\n", r.Matches)
	fmt.Fprintf(w, "per bot:        %.1f snapshots/s, down %.1f KB/s, up %.2f KB/s\n", r.SnapshotsPerS, r.DownBytesPerS/1024, r.UpBytesPerS/1024)
	fmt.Fprintf(w, "ack latency:    p50 %.1fms  p95 %.1fms  p99 %.1fms  (%d samples, %d stale left out)\n", r.AckMS.P50, r.AckMS.P95, r.AckMS.P99, r.AckSamples, r.StaleAcks)
	fmt.Fprintf(w, "inputs:         %d sent, %d rejected; %d hits; %d sends too late for their tick dropped, %d postponed after a missed tick\n",
		r.InputsSent, r.Rejected, r.Hits, r.LateSends, r.Drains)
	fmt.Fprintf(w, "prediction:     max error %.3fu, max correction %.3fu, corrections over 1u %d\n", r.MaxPredError, r.MaxCorrection, r.CorrectionsOver1u)
	fmt.Fprintf(w, "interpolation:  delay p50 %.1fms p99 %.1fms, empty buffer %.2f%% of frames\n", r.InterpDelayMS.P50, r.InterpDelayMS.P99, r.EmptyBufferPct)
	if r.HitscanShots > 0 {
		fmt.Fprintf(w, "hitscan:        %d shots, %d scored, hit ratio %.3f\n", r.HitscanShots, r.HitscanHits, r.HitRatio)
	}
	fmt.Fprintf(w, "bots CPU:       %.1f%% of one core = %.1f us per bot-tick (%.1fs)\n", 100*r.CPUCores, r.CPUUsPerBotTick, r.CPUS)
	if r.Chaos > 0 {
		fmt.Fprintf(w, "chaos:          %g cuts/bot/min, %d connections cut (%d of playing bots)\n", r.Chaos, r.ChaosCuts, r.ChaosCutsPlaying)
	}
	fmt.Fprintf(w, "disconnects:    %d (reconnected %d, resumed %d, inputs lost %d)", r.Disconnects, r.Reconnects, r.Resumed, r.InputsLost)
	if r.Reconnects > 0 {
		fmt.Fprintf(w, "; outage p50 %.0fms p99 %.0fms max %.0fms", r.ReconnectMS.P50, r.ReconnectMS.P99, r.ReconnectMS.Max)
	}
	fmt.Fprintln(w)
	if r.QueueSamples > 0 {
		fmt.Fprintf(w, "queue→matched:  p50 %.0fms p99 %.0fms max %.0fms (%d seatings); shortest per match (no fill wait) p50 %.0fms p99 %.0fms max %.0fms\n",
			r.QueueMS.P50, r.QueueMS.P99, r.QueueMS.Max, r.QueueSamples, r.QueueMatchMinMS.P50, r.QueueMatchMinMS.P99, r.QueueMatchMinMS.Max)
	}
	if r.Moved > 0 || r.Migrated > 0 {
		fmt.Fprintf(w, "moved:          %d redirects followed, %d seats migrated to another node\n", r.Moved, r.Migrated)
	}
	if n := r.MigratedDrain + r.MigratedDeath; n > 0 {
		fmt.Fprintf(w, "migrations:     %d: p50 %.0fms p99 %.0fms max %.0fms (from losing the node to the seat resumed)\n", n, r.MigrateMS.P50, r.MigrateMS.P99, r.MigrateMS.Max)
		if r.MigratedDrain > 0 {
			fmt.Fprintf(w, "  after drain:  %d: p50 %.0fms p99 %.0fms max %.0fms (from the moved message)\n", r.MigratedDrain, r.MigrateDrainMS.P50, r.MigrateDrainMS.P99, r.MigrateDrainMS.Max)
		}
		if r.MigratedDeath > 0 {
			fmt.Fprintf(w, "  after death:  %d: p50 %.0fms p99 %.0fms max %.0fms (from the drop)\n", r.MigratedDeath, r.MigrateDeathMS.P50, r.MigrateDeathMS.P99, r.MigrateDeathMS.Max)
		}
		fmt.Fprintf(w, "  resumed:      first at %s, last at %s\n", localMS(r.FirstMigratedAt), localMS(r.LastMigratedAt))
	}
	fmt.Fprintf(w, "gave up:        %d", r.GaveUp)
	if len(r.CloseCodes) > 0 {
		fmt.Fprintf(w, " (close codes %v)", r.CloseCodes)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "protocol errors: %d\n", r.ProtocolErrors)
	if r.Refused > 0 {
		fmt.Fprintf(w, "refused:        %d (server_full or 503: the server was full, the bots tried again)\n", r.Refused)
	}
	fmt.Fprintf(w, "errors:         %d\n", r.Errors)
	for _, s := range r.ErrorSamples {
		fmt.Fprintf(w, "  %s\n", s)
	}
	if r.Soak != nil {
		r.Soak.Print(w)
	}
}

// localMS returns the RFC 3339 time s as local time of day with
// milliseconds (as `date +%T.%3N` prints it), or s if it is no such time.
func localMS(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.Local().Format("15:04:05.000")
}

func round3(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return math.Round(f*1000) / 1000
}
