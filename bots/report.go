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
	Rejected   int `json:"rejected"`
	Hits       int `json:"hits"` // hits scored by the bots' shots
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
	// GaveUp counts bots whose client gave up its connection before the
	// end of the run (a close it does not reconnect after, e.g. replaced).
	GaveUp int `json:"gave_up"`
	// CloseCodes counts the bots that gave up by the close code the server
	// sent ("0": the connection dropped without a close frame).
	CloseCodes map[string]int `json:"close_codes"`
	// InputsLost counts inputs the server reported as never received
	// (reject code missing); a resume must lose none.
	InputsLost     int      `json:"inputs_lost"`
	ProtocolErrors int      `json:"protocol_errors"`
	MaxPredError   float64  `json:"max_prediction_error"`
	MaxCorrection  float64  `json:"max_correction"`
	Errors         int      `json:"errors"`
	ErrorSamples   []string `json:"error_samples"`
	// Series has a sample of every second of the run.
	Series []Sample `json:"series"`
	// Soak holds the checks of -soak; absent without it.
	Soak *SoakResult `json:"soak,omitempty"`
}

// ReconnectMS are percentiles of the reconnect outages in milliseconds.
type ReconnectMS struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
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
	disconnects, reconnects, resumed, inputsLost, gaveUp, tickRate              int
	moved, migrated                                                             int
	chaosCuts, chaosCutsPlaying                                                 int
	bytesDown, bytesUp                                                          int64
	maxPredError, maxCorrection                                                 float64
	recons                                                                      []time.Duration // reconnect outages
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
		Rejected:         t.rejected,
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
	if len(t.recons) > 0 {
		recons := slices.Clone(t.recons)
		slices.Sort(recons)
		r.ReconnectMS = ReconnectMS{
			P50: round3(ms(Percentile(recons, 50))),
			P99: round3(ms(Percentile(recons, 99))),
			Max: round3(ms(recons[len(recons)-1])),
		}
	}
	if s := elapsed.Seconds(); s > 0 && cfg.N > 0 {
		per := s * float64(cfg.N)
		r.SnapshotsPerS = round3(float64(t.snapshots) / per)
		r.DownBytesPerS = round3(float64(t.bytesDown) / per)
		r.UpBytesPerS = round3(float64(t.bytesUp) / per)
	}
	return r
}

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
	fmt.Fprintf(w, "inputs:         %d sent, %d rejected; %d hits\n", r.InputsSent, r.Rejected, r.Hits)
	fmt.Fprintf(w, "prediction:     max error %.3fu, max correction %.3fu\n", r.MaxPredError, r.MaxCorrection)
	if r.Chaos > 0 {
		fmt.Fprintf(w, "chaos:          %g cuts/bot/min, %d connections cut (%d of playing bots)\n", r.Chaos, r.ChaosCuts, r.ChaosCutsPlaying)
	}
	fmt.Fprintf(w, "disconnects:    %d (reconnected %d, resumed %d, inputs lost %d)", r.Disconnects, r.Reconnects, r.Resumed, r.InputsLost)
	if r.Reconnects > 0 {
		fmt.Fprintf(w, "; outage p50 %.0fms p99 %.0fms max %.0fms", r.ReconnectMS.P50, r.ReconnectMS.P99, r.ReconnectMS.Max)
	}
	fmt.Fprintln(w)
	if r.Moved > 0 || r.Migrated > 0 {
		fmt.Fprintf(w, "moved:          %d redirects followed, %d seats migrated to another node\n", r.Moved, r.Migrated)
	}
	fmt.Fprintf(w, "gave up:        %d", r.GaveUp)
	if len(r.CloseCodes) > 0 {
		fmt.Fprintf(w, " (close codes %v)", r.CloseCodes)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "protocol errors: %d\n", r.ProtocolErrors)
	fmt.Fprintf(w, "errors:         %d\n", r.Errors)
	for _, s := range r.ErrorSamples {
		fmt.Fprintf(w, "  %s\n", s)
	}
	if r.Soak != nil {
		r.Soak.Print(w)
	}
}

func round3(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return math.Round(f*1000) / 1000
}
