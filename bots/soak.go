package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Soak gate (-soak). Before the bots start, the runner reads the server's
// /metrics for a baseline (after a forced GC through -debug-url); after
// every bot has left it waits for the server's goroutines and heap to come
// back near that baseline, then checks the server's counters of the run
// and the bots' own numbers. Every check is "value ≤ limit".
const (
	// settleTimeout bounds the wait for goroutines and heap to come back;
	// settlePoll is the time between two looks.
	settleTimeout = 20 * time.Second
	settlePoll    = 500 * time.Millisecond
	// goroutineSlack: goroutines may exceed the baseline by 5%, or by
	// goroutineAbsSlack if more (small baselines: a handful of goroutines
	// come and go with a scrape).
	goroutineSlack    = 0.05
	goroutineAbsSlack = 5
	// heapSlack: the heap may exceed the baseline by 10%, or by
	// heapAbsSlack if more (small baselines).
	heapSlack    = 0.10
	heapAbsSlack = 1 << 20
	// tickP99Budget: the p99 of the tick duration must fit in this share
	// of the tick budget 1/tickRate.
	tickP99Budget = 0.25
	// ackP99Ticks: the bots' ack p99 must be at most this many ticks.
	ackP99Ticks = 2
)

// SoakResult is the outcome of the soak checks.
type SoakResult struct {
	Checks []Check `json:"checks"`
	Pass   bool    `json:"pass"`
}

// Check is one soak check: it passes when Value ≤ Limit.
type Check struct {
	Name   string  `json:"name"`
	Value  jsonNum `json:"value"` // null: could not be measured (or +Inf)
	Limit  jsonNum `json:"limit"`
	Unit   string  `json:"unit"` // "", "ms" or "bytes"
	Pass   bool    `json:"pass"`
	Detail string  `json:"detail,omitempty"`
}

// jsonNum is a float64 that JSON-encodes NaN and ±Inf as null.
type jsonNum float64

func (n jsonNum) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, round3(f), 'f', -1, 64), nil
}

func (n *jsonNum) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = jsonNum(math.NaN())
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	*n = jsonNum(f)
	return err
}

// check returns a check of value ≤ limit; a NaN value fails.
func check(name string, value, limit float64, unit, detail string) Check {
	return Check{Name: name, Value: jsonNum(value), Limit: jsonNum(limit), Unit: unit,
		Pass: !math.IsNaN(value) && value <= limit, Detail: detail}
}

// runSoak runs cfg with the soak checks around it and puts them in the
// report's Soak. Its error is a failure to reach the server before the
// run, or run's.
func runSoak(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	tickRate, err := serverTickRate(ctx, cfg.Nodes()[0])
	if err != nil {
		return Report{}, fmt.Errorf("soak: %w", err)
	}
	base, err := scrape(ctx, cfg.Nodes()[0], cfg.DebugURL)
	if err != nil {
		return Report{}, fmt.Errorf("soak: baseline: %w", err)
	}
	rep, err := run(ctx, cfg)
	if err != nil {
		return rep, err
	}
	// The bots created their sessions with the default HTTP client: its
	// idle keep-alive connections are goroutines on the server.
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
	// Measure even if the run was interrupted.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout+10*time.Second)
	defer cancel()
	res := soakChecks(sctx, cfg, tickRate, base, &rep)
	rep.Soak = &res
	return rep, nil
}

// serverTickRate reads the tick rate from the server's /healthz.
func serverTickRate(ctx context.Context, base string) (int, error) {
	body, err := getBody(ctx, strings.TrimRight(base, "/")+"/healthz")
	if err != nil {
		return 0, err
	}
	var h struct {
		TickRate int `json:"tickRate"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return 0, fmt.Errorf("healthz: %w", err)
	}
	if h.TickRate <= 0 {
		return 0, fmt.Errorf("healthz: tick rate %d", h.TickRate)
	}
	return h.TickRate, nil
}

// heapMetric returns the heap figure of m: the bytes of allocated heap
// objects (after a forced GC: live ones), or failing that the bytes of
// in-use spans.
func heapMetric(m promMetrics) (float64, string, bool) {
	for _, name := range []string{"go_memstats_heap_alloc_bytes", "go_memstats_heap_inuse_bytes"} {
		if v, ok := m.value(name); ok {
			return v, name, true
		}
	}
	return math.NaN(), "", false
}

// soakChecks waits for the server to settle after the run and checks it
// and rep against the baseline base.
func soakChecks(ctx context.Context, cfg Config, tickRate int, base promMetrics, rep *Report) SoakResult {
	baseG, _ := base.value("go_goroutines")
	baseH, heapName, _ := heapMetric(base)
	limG := math.Max(baseG*(1+goroutineSlack), baseG+goroutineAbsSlack)
	limH := math.Max(baseH*(1+heapSlack), baseH+heapAbsSlack)

	// Wait for the goroutines of the bots' connections and matches to end,
	// and their memory to be collected.
	began := time.Now()
	var after promMetrics
	var scrapeErr error
	settled := false
	for {
		m, err := scrape(ctx, cfg.Nodes()[0], cfg.DebugURL)
		if err == nil {
			after, scrapeErr = m, nil
			g, _ := m.value("go_goroutines")
			h, _, _ := heapMetric(m)
			if g <= limG && h <= limH {
				settled = true
				break
			}
		} else {
			scrapeErr = err
		}
		if time.Since(began)+settlePoll > settleTimeout {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(settlePoll):
		}
		if ctx.Err() != nil {
			break
		}
	}
	waited := fmt.Sprintf("back within the limit %.1f s after the bots left", time.Since(began).Seconds())
	if !settled {
		waited = fmt.Sprintf("not back within %v after the bots left", settleTimeout)
	}
	gcNote := "after a GC forced through -debug-url"
	if cfg.DebugURL == "" {
		gcNote = "no -debug-url: no forced GC, so garbage counts too"
	}

	var checks []Check
	if after == nil {
		why := "no metrics after the run"
		if scrapeErr != nil {
			why += ": " + scrapeErr.Error()
		}
		for _, name := range []string{"server goroutines", "server heap", "server tick overruns", "server tick p99",
			"server protocol errors", "server panics", "server store errors"} {
			checks = append(checks, check(name, math.NaN(), 0, "", why))
		}
	} else {
		g, _ := after.value("go_goroutines")
		checks = append(checks, check("server goroutines", g, math.Floor(limG), "",
			fmt.Sprintf("baseline %.0f; limit: baseline +%.0f%%, with an absolute slack of +%d goroutines for small baselines; %s",
				baseG, goroutineSlack*100, goroutineAbsSlack, waited)))
		h, _, _ := heapMetric(after)
		checks = append(checks, check("server heap", h, limH, "bytes",
			fmt.Sprintf("%s; baseline %s; limit: baseline +%.0f%%, with an absolute slack of +%s for small baselines; %s; %s",
				heapName, fmtBytes(baseH), heapSlack*100, fmtBytes(heapAbsSlack), gcNote, waited)))
		checks = append(checks, counterCheck(base, after, "server tick overruns", "skirmish_tick_overruns_total"))

		budget := time.Second.Seconds() / float64(tickRate)
		le, total := histQuantile(subBuckets(after.buckets("skirmish_tick_duration_seconds"), base.buckets("skirmish_tick_duration_seconds")), 0.99)
		detail := fmt.Sprintf("smallest bucket bound of skirmish_tick_duration_seconds holding 99%% of the %.0f ticks of the run; limit %.0f%% of the %.1f ms tick (%d Hz)",
			total, tickP99Budget*100, budget*1000, tickRate)
		p99 := le * 1000
		if total == 0 {
			p99, detail = math.NaN(), "no tick observed during the run"
		}
		checks = append(checks, check("server tick p99", p99, tickP99Budget*budget*1000, "ms", detail))
		checks = append(checks, counterCheck(base, after, "server protocol errors", "skirmish_protocol_errors_total"))
		checks = append(checks, counterCheck(base, after, "server panics", "skirmish_panics_total"))
		checks = append(checks, counterCheck(base, after, "server store errors", "skirmish_store_errors_total"))
	}

	ackLimit := ackP99Ticks * 1000 / float64(tickRate)
	ackDetail := fmt.Sprintf("%d samples; limit %d ticks at %d Hz", rep.AckSamples, ackP99Ticks, tickRate)
	ackP99 := rep.AckMS.P99
	if rep.AckSamples == 0 {
		ackP99, ackDetail = math.NaN(), "no ack measured"
	}
	checks = append(checks,
		check("bots ack p99", ackP99, ackLimit, "ms", ackDetail),
		check("bots protocol errors", float64(rep.ProtocolErrors), 0, "", ""),
		check("bots inputs lost", float64(rep.InputsLost), 0, "", fmt.Sprintf("%d disconnects, %d resumed", rep.Disconnects, rep.Resumed)),
		check("bots errors", float64(rep.Errors), 0, "", strings.Join(rep.ErrorSamples, "; ")),
		check("bots gave up", float64(rep.GaveUp), 0, "", "clients that stopped reconnecting"),
	)
	res := SoakResult{Checks: checks, Pass: true}
	for _, c := range checks {
		res.Pass = res.Pass && c.Pass
	}
	return res
}

// counterCheck checks that the counter name (summed over its labels) did
// not grow between base and after.
func counterCheck(base, after promMetrics, check1, name string) Check {
	a, okA := after.sum(name)
	b, _ := base.sum(name)
	detail := name + " during the run"
	if !okA {
		detail = name + " absent: none recorded"
	}
	return check(check1, a-b, 0, "", detail)
}

// fmtBytes formats n bytes in KiB or MiB.
func fmtBytes(n float64) string {
	switch {
	case math.IsNaN(n):
		return "?"
	case math.Abs(n) >= 1<<20:
		return fmt.Sprintf("%.2f MiB", n/(1<<20))
	default:
		return fmt.Sprintf("%.1f KiB", n/(1<<10))
	}
}

// fmtValue formats a check's value or limit in its unit.
func fmtValue(v float64, unit string) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case math.IsInf(v, 1):
		return "+Inf"
	}
	switch unit {
	case "bytes":
		return fmtBytes(v)
	case "ms":
		return strconv.FormatFloat(round3(v), 'f', -1, 64) + " ms"
	}
	return strconv.FormatFloat(round3(v), 'f', -1, 64)
}

// Print writes the checks, one a line, and the verdict.
func (s *SoakResult) Print(w io.Writer) {
	fmt.Fprintln(w, "soak checks (value ≤ limit):")
	for _, c := range s.Checks {
		verdict := "PASS"
		if !c.Pass {
			verdict = "FAIL"
		}
		fmt.Fprintf(w, "  %s  %-24s %12s ≤ %-12s", verdict, c.Name, fmtValue(float64(c.Value), c.Unit), fmtValue(float64(c.Limit), c.Unit))
		if c.Detail != "" {
			fmt.Fprintf(w, "  (%s)", c.Detail)
		}
		fmt.Fprintln(w)
	}
	if s.Pass {
		fmt.Fprintln(w, "soak: PASS")
	} else {
		fmt.Fprintln(w, "soak: FAIL")
	}
}
