package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
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
	Matches       int     `json:"matches"` // distinct match ids the bots were seated in
	DurationS     float64 `json:"duration_s"`
	Snapshots     int     `json:"snapshots"`
	SnapshotsPerS float64 `json:"snapshots_per_s"`
	DownBytesPerS float64 `json:"down_bytes_per_s"`
	UpBytesPerS   float64 `json:"up_bytes_per_s"`
	AckMS         AckMS   `json:"ack_ms"`
	AckSamples    int     `json:"ack_samples"`
	// StaleAcks are acks the client reported for inputs of a previous
	// match; they are left out of AckMS.
	StaleAcks   int `json:"stale_acks"`
	InputsSent  int `json:"inputs_sent"`
	Rejected    int `json:"rejected"`
	Hits        int `json:"hits"` // hits scored by the bots' shots
	Disconnects int `json:"disconnects"`
	// CloseCodes counts the early disconnects by the close code the server
	// sent ("0": the connection dropped without a close frame).
	CloseCodes     map[string]int `json:"close_codes"`
	Resumed        int            `json:"resumed"`     // reconnects: not implemented yet, always 0
	InputsLost     int            `json:"inputs_lost"` // not measured yet, always 0
	ProtocolErrors int            `json:"protocol_errors"`
	MaxPredError   float64        `json:"max_prediction_error"`
	MaxCorrection  float64        `json:"max_correction"`
	Errors         int            `json:"errors"`
	ErrorSamples   []string       `json:"error_samples"`
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
	connected, snapshots, inputsSent, rejected, protocolErrors, hits, disconnects, staleAcks int
	bytesDown, bytesUp                                                                       int64
	maxPredError, maxCorrection                                                              float64
}

// buildReport assembles the report of a run of cfg that lasted elapsed.
func buildReport(cfg Config, elapsed time.Duration, t totals, matches int, acks []time.Duration, errs int, samples []string) Report {
	r := Report{
		Bots:           cfg.N,
		Connected:      t.connected,
		Behavior:       cfg.Behavior,
		Mode:           cfg.Mode,
		Seed:           cfg.Seed,
		Matches:        matches,
		DurationS:      round3(elapsed.Seconds()),
		Snapshots:      t.snapshots,
		AckMS:          AckPercentiles(acks),
		AckSamples:     len(acks),
		StaleAcks:      t.staleAcks,
		InputsSent:     t.inputsSent,
		Rejected:       t.rejected,
		Hits:           t.hits,
		Disconnects:    t.disconnects,
		ProtocolErrors: t.protocolErrors,
		MaxPredError:   round3(t.maxPredError),
		MaxCorrection:  round3(t.maxCorrection),
		Errors:         errs,
		ErrorSamples:   append([]string{}, samples...), // [] rather than null
		CloseCodes:     map[string]int{},
	}
	if s := elapsed.Seconds(); s > 0 && cfg.N > 0 {
		per := s * float64(cfg.N)
		r.SnapshotsPerS = round3(float64(t.snapshots) / per)
		r.DownBytesPerS = round3(float64(t.bytesDown) / per)
		r.UpBytesPerS = round3(float64(t.bytesUp) / per)
	}
	return r
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
	fmt.Fprintf(w, "disconnects:    %d (resumed %d, inputs lost %d)", r.Disconnects, r.Resumed, r.InputsLost)
	if len(r.CloseCodes) > 0 {
		fmt.Fprintf(w, " close codes %v", r.CloseCodes)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "protocol errors: %d\n", r.ProtocolErrors)
	fmt.Fprintf(w, "errors:         %d\n", r.Errors)
	for _, s := range r.ErrorSamples {
		fmt.Fprintf(w, "  %s\n", s)
	}
}

func round3(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return math.Round(f*1000) / 1000
}
