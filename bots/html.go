package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// htmlPath returns where the charts of the JSON report at jsonPath go: the
// same name with .html.
func htmlPath(jsonPath string) string {
	p := strings.TrimSuffix(jsonPath, filepath.Ext(jsonPath)) + ".html"
	if p == jsonPath {
		p += ".html"
	}
	return p
}

// WriteHTMLFile writes r's HTML page to the file path.
func (r *Report) WriteHTMLFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.WriteHTML(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Chart colors.
const (
	colBlue   = "#1f6fb5"
	colOrange = "#e8710a"
	colGreen  = "#2e9d4a"
	colRed    = "#d03b3b"
	colPurple = "#7b4fb8"
	colGrey   = "#888"
)

// WriteHTML writes r as a self-contained HTML page: the run's parameters
// and summary numbers in tables, the soak checks if any, and SVG line
// charts of its time series. It loads nothing: no script, font, style
// sheet or image from anywhere. The markup is also well-formed XML.
func (r *Report) WriteHTML(w io.Writer) error {
	var b strings.Builder
	esc := html.EscapeString
	title := fmt.Sprintf("Skirmish bots: %d bots, %s, %s, %.0f s", r.Bots, r.Mode, r.Behavior, r.DurationS)
	if r.Chaos > 0 {
		title += fmt.Sprintf(", chaos %g", r.Chaos)
	}
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n")
	fmt.Fprintf(&b, "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n", esc(title), pageCSS)
	fmt.Fprintf(&b, "<h1>%s</h1>\n", esc(title))
	sub := []string{}
	if r.StartedAt != "" {
		sub = append(sub, "started "+r.StartedAt)
	}
	if r.Server != "" {
		sub = append(sub, "server "+r.Server)
	}
	if r.TickRate > 0 {
		sub = append(sub, fmt.Sprintf("tick rate %d Hz (one tick = %.1f ms)", r.TickRate, 1000/float64(r.TickRate)))
	}
	sub = append(sub, fmt.Sprintf("seed %d", r.Seed))
	if r.Chaos > 0 {
		sub = append(sub, fmt.Sprintf("chaos: %g cuts per bot per minute, so %.1f a minute", r.Chaos, r.Chaos*float64(r.Bots)))
	}
	fmt.Fprintf(&b, "<p class=\"sub\">%s</p>\n", esc(strings.Join(sub, " · ")))
	if r.Soak != nil {
		cls, verdict := "pass", "PASS"
		if !r.Soak.Pass {
			cls, verdict = "fail", "FAIL"
		}
		failed := 0
		for _, c := range r.Soak.Checks {
			if !c.Pass {
				failed++
			}
		}
		fmt.Fprintf(&b, "<p class=\"verdict %s\">Soak %s: %d of %d checks passed</p>\n", cls, verdict, len(r.Soak.Checks)-failed, len(r.Soak.Checks))
	}

	r.summaryTables(&b)
	if r.Soak != nil {
		r.soakTable(&b)
	}
	r.charts(&b)
	b.WriteString("<p class=\"foot\">Written by the Skirmish bot runner (bots). Each point of a chart is one second of the run; " +
		"per-bot rates divide by the bots connected in that second. Hover a chart for the values of a second. " +
		"The JSON report beside this page holds the same numbers.</p>\n</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

const pageCSS = `
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #222; margin: 20px auto; max-width: 1120px; padding: 0 16px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 26px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 3px; }
.sub { color: #555; margin: 0 0 12px; }
.verdict { display: inline-block; font-weight: 600; padding: 4px 12px; border-radius: 4px; margin: 4px 0 8px; }
.verdict.pass { background: #e3f4e7; color: #17602b; border: 1px solid #9fd3ad; }
.verdict.fail { background: #fbe4e4; color: #8f1d1d; border: 1px solid #e6a3a3; }
.tables { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
table { border-collapse: collapse; font-size: 13px; }
.tables table { flex: 1 1 300px; }
caption { text-align: left; font-weight: 600; padding: 0 0 3px; }
th, td { padding: 2px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
th { text-align: left; font-weight: normal; color: #555; white-space: nowrap; }
td { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.l { white-space: normal; }
td.n { white-space: nowrap; }
td.l { text-align: left; }
.bad { color: #b21f1f; font-weight: 600; }
.good { color: #17602b; }
table.checks { width: 100%; }
table.checks th { font-weight: 600; color: #333; border-bottom: 1px solid #ccc; }
.samples { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; color: #8f1d1d; }
figure { margin: 8px 0 18px; }
figcaption { font-weight: 600; margin-bottom: 2px; }
figcaption span { font-weight: normal; color: #666; }
.row { display: flex; gap: 16px; }
.row figure { flex: 1 1 0; min-width: 0; }
svg { display: block; width: 100%; height: auto; }
svg text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; fill: #444; }
svg .axis { stroke: #999; stroke-width: 1; }
svg .grid { stroke: #eee; stroke-width: 1; }
svg .ref { stroke: #999; stroke-width: 1; stroke-dasharray: 5 4; }
svg text.halo { fill: #555; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; paint-order: stroke; }
svg .hover { fill: transparent; }
svg .hover:hover { fill: rgba(0, 0, 0, 0.06); }
.foot { color: #777; font-size: 12px; margin-top: 24px; }
`

// kv is a row of a summary table; bad marks a value that should be 0.
type kv struct {
	k, v string
	bad  bool
}

func writeTable(b *strings.Builder, caption string, rows []kv) {
	fmt.Fprintf(b, "<table>\n<caption>%s</caption>\n", html.EscapeString(caption))
	for _, r := range rows {
		cls := ""
		if r.bad {
			cls = " class=\"bad\""
		}
		fmt.Fprintf(b, "<tr><th>%s</th><td%s>%s</td></tr>\n", html.EscapeString(r.k), cls, html.EscapeString(r.v))
	}
	b.WriteString("</table>\n")
}

func (r *Report) summaryTables(b *strings.Builder) {
	itoa := strconv.Itoa
	f1 := func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
	b.WriteString("<h2>Summary</h2>\n<div class=\"tables\">\n")
	writeTable(b, "Run", []kv{
		{"bots connected / started", fmt.Sprintf("%d / %d", r.Connected, r.Bots), r.Connected < r.Bots},
		{"duration", f1(r.DurationS) + " s", false},
		{"mode, behavior", r.Mode + ", " + r.Behavior, false},
		{"matches played", itoa(r.Matches), false},
		{"inputs sent", itoa(r.InputsSent), false},
		{"inputs rejected", itoa(r.Rejected), false},
		{"hits scored", itoa(r.Hits), false},
	})
	writeTable(b, "Per bot, latency", []kv{
		{"snapshots / s", f1(r.SnapshotsPerS), false},
		{"down", f1(r.DownBytesPerS/1024) + " KB/s", false},
		{"up", strconv.FormatFloat(r.UpBytesPerS/1024, 'f', 2, 64) + " KB/s", false},
		{"ack p50 / p95 / p99", fmt.Sprintf("%s / %s / %s ms", f1(r.AckMS.P50), f1(r.AckMS.P95), f1(r.AckMS.P99)), false},
		{"ack samples (stale left out)", fmt.Sprintf("%d (%d)", r.AckSamples, r.StaleAcks), false},
		{"queue → matched p50 / p99 / max", spans(r.QueueMS, r.QueueSamples), false},
		{"… shortest per match (no fill wait)", spans(r.QueueMatchMinMS, r.QueueSamples), false},
		{"max prediction error", strconv.FormatFloat(r.MaxPredError, 'f', 3, 64) + " u", false},
		{"max correction", strconv.FormatFloat(r.MaxCorrection, 'f', 3, 64) + " u", false},
		{"corrections over 1 u", itoa(r.CorrectionsOver1u), r.CorrectionsOver1u > 0},
		{"interpolation delay p50 / p99", fmt.Sprintf("%s / %s ms", f1(r.InterpDelayMS.P50), f1(r.InterpDelayMS.P99)), false},
		{"empty interpolation buffer", strconv.FormatFloat(r.EmptyBufferPct, 'f', 2, 64) + " % of frames", r.EmptyBufferPct >= 1},
		{"hitscan hit ratio (shots)", fmt.Sprintf("%s (%d)", strconv.FormatFloat(r.HitRatio, 'f', 3, 64), r.HitscanShots), false},
	})
	recon := "–"
	if r.Reconnects > 0 {
		recon = fmt.Sprintf("%.0f / %.0f / %.0f ms", r.ReconnectMS.P50, r.ReconnectMS.P99, r.ReconnectMS.Max)
	}
	cuts := "off"
	if r.Chaos > 0 {
		cuts = fmt.Sprintf("%d (%d)", r.ChaosCuts, r.ChaosCutsPlaying)
	}
	writeTable(b, "Connections, errors", []kv{
		{"chaos cuts (of playing bots)", cuts, false},
		{"disconnects", itoa(r.Disconnects), false},
		{"reconnects", itoa(r.Reconnects), r.Reconnects < r.Disconnects},
		{"resumed seats", itoa(r.Resumed), false},
		{"moved (redirects followed)", itoa(r.Moved), false},
		{"seats migrated to another node", itoa(r.Migrated), false},
		{"migration p50 / p99 / max", spans(r.MigrateMS, r.MigratedDrain+r.MigratedDeath), false},
		{"… after a drain (" + itoa(r.MigratedDrain) + ")", spans(r.MigrateDrainMS, r.MigratedDrain), false},
		{"… after a node death (" + itoa(r.MigratedDeath) + ")", spans(r.MigrateDeathMS, r.MigratedDeath), false},
		{"outage p50 / p99 / max", recon, false},
		{"inputs lost", itoa(r.InputsLost), r.InputsLost > 0},
		{"clients that gave up", itoa(r.GaveUp) + closeCodes(r.CloseCodes), r.GaveUp > 0},
		{"protocol errors", itoa(r.ProtocolErrors), r.ProtocolErrors > 0},
		{"errors", itoa(r.Errors), r.Errors > 0},
	})
	b.WriteString("</div>\n")
	if len(r.ErrorSamples) > 0 {
		b.WriteString("<p class=\"samples\">")
		for i, s := range r.ErrorSamples {
			if i > 0 {
				b.WriteString("<br/>")
			}
			b.WriteString(html.EscapeString(s))
		}
		b.WriteString("</p>\n")
	}
}

// spans formats s as "p50 / p99 / max ms", or a dash for no samples (n 0).
func spans(s SpanMS, n int) string {
	if n == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f / %.0f / %.0f ms", s.P50, s.P99, s.Max)
}

func closeCodes(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for code, n := range m {
		parts = append(parts, fmt.Sprintf("%s×%d", code, n))
	}
	return " (close " + strings.Join(parts, ", ") + ")"
}

func (r *Report) soakTable(b *strings.Builder) {
	b.WriteString("<h2>Soak checks</h2>\n<table class=\"checks\">\n<tr><th></th><th>check</th><th>value</th><th>limit</th><th>how</th></tr>\n")
	for _, c := range r.Soak.Checks {
		cls, verdict := "good", "PASS"
		if !c.Pass {
			cls, verdict = "bad", "FAIL"
		}
		fmt.Fprintf(b, "<tr><td class=\"l %s\">%s</td><td class=\"l n\">%s</td><td class=\"%s\">%s</td><td>≤ %s</td><td class=\"l\">%s</td></tr>\n",
			cls, verdict, html.EscapeString(c.Name), cls, html.EscapeString(fmtValue(float64(c.Value), c.Unit)),
			html.EscapeString(fmtValue(float64(c.Limit), c.Unit)), html.EscapeString(c.Detail))
	}
	b.WriteString("</table>\n")
}

// charts writes the time series charts.
func (r *Report) charts(b *strings.Builder) {
	s := r.Series
	n := len(s)
	xs := make([]float64, n)
	col := func(f func(Sample) float64) []float64 {
		out := make([]float64, n)
		for i := range s {
			out[i] = f(s[i])
		}
		return out
	}
	for i := range s {
		xs[i] = s[i].T
	}
	xMax := max(r.DurationS, 1)
	if n > 0 {
		xMax = max(xMax, xs[n-1])
	}
	noAck := func(v float64, smp Sample) float64 {
		if smp.Acks == 0 {
			return math.NaN()
		}
		return v
	}
	b.WriteString("<h2>Over time</h2>\n")

	ack := chart{title: "Input ack latency", note: "time from sending an input to the first snapshot acknowledging it; percentiles of each second",
		unit: "ms", xs: xs, xMax: xMax, w: 1100, h: 260, lines: []line{
			{name: "p50", color: colBlue, ys: col(func(x Sample) float64 { return noAck(x.AckP50MS, x) })},
			{name: "p99", color: colOrange, ys: col(func(x Sample) float64 { return noAck(x.AckP99MS, x) })},
		}}
	if r.TickRate > 0 {
		tick := 1000 / float64(r.TickRate)
		ack.refs = []refLine{{tick, "1 tick"}, {ackP99Ticks * tick, "2 ticks (soak limit of p99)"}}
	}
	ack.write(b)

	b.WriteString("<div class=\"row\">\n")
	chart{title: "Download per bot", note: "bytes received per connected bot", unit: "KB/s", xs: xs, xMax: xMax, w: 540, h: 230,
		lines: []line{{name: "down", color: colBlue, ys: col(func(x Sample) float64 { return x.DownBytesPerBot / 1024 })}}}.write(b)
	chart{title: "Upload per bot", note: "bytes sent per connected bot", unit: "KB/s", xs: xs, xMax: xMax, w: 540, h: 230,
		lines: []line{{name: "up", color: colPurple, ys: col(func(x Sample) float64 { return x.UpBytesPerBot / 1024 })}}}.write(b)
	b.WriteString("</div>\n")

	chart{title: "Bots", note: "connected: with a live connection; playing: seated in a match; reconnecting: getting a dropped connection back",
		unit: "bots", xs: xs, xMax: xMax, w: 1100, h: 240, integer: true,
		refs: []refLine{{float64(r.Bots), "bots started"}},
		lines: []line{
			{name: "connected", color: colGreen, ys: col(func(x Sample) float64 { return float64(x.Connected) })},
			{name: "playing", color: colBlue, dash: true, ys: col(func(x Sample) float64 { return float64(x.Playing) })},
			{name: "reconnecting", color: colRed, ys: col(func(x Sample) float64 { return float64(x.Reconnecting) })},
		}}.write(b)

	drops := make([]float64, n)
	for i := range s {
		drops[i] = float64(s[i].Disconnects)
		if i > 0 {
			drops[i] -= float64(s[i-1].Disconnects)
		}
	}
	chart{title: "Connection drops and reconnects", note: "running totals; bars: drops in that second; moved: redirects to another node (no drop); migrated: seats resumed on another node",
		unit: "connections", xs: xs, xMax: xMax, w: 1100, h: 240, integer: true,
		lines: []line{
			{name: "drops this second", color: "#f0b3b3", bars: true, ys: drops},
			{name: "disconnects", color: colRed, total: true, ys: col(func(x Sample) float64 { return float64(x.Disconnects) })},
			{name: "reconnects", color: colBlue, total: true, ys: col(func(x Sample) float64 { return float64(x.Reconnects) })},
			{name: "resumed", color: colGreen, dash: true, total: true, ys: col(func(x Sample) float64 { return float64(x.Resumed) })},
			{name: "moved", color: colOrange, total: true, ys: col(func(x Sample) float64 { return float64(x.Moved) })},
			{name: "migrated", color: colPurple, dash: true, total: true, ys: col(func(x Sample) float64 { return float64(x.Migrated) })},
		}}.write(b)
}

// line is one series of a chart; NaN values are gaps.
type line struct {
	name, color string
	dash, bars  bool
	total       bool // a running total: the legend tells the last value
	ys          []float64
}

// refLine is a dashed horizontal line at Y.
type refLine struct {
	y     float64
	label string
}

// chart is an SVG line chart over time.
type chart struct {
	title, note, unit string
	w, h              int
	xs                []float64 // seconds since the start
	xMax              float64
	lines             []line
	refs              []refLine
	integer           bool // the values are counts: whole-number ticks
}

// Plot margins.
const (
	padLeft   = 58
	padRight  = 14
	padTop    = 30
	padBottom = 38
)

func (c chart) write(b *strings.Builder) {
	esc := html.EscapeString
	fmt.Fprintf(b, "<figure>\n<figcaption>%s <span>(%s) — %s</span></figcaption>\n", esc(c.title), esc(c.unit), esc(c.note))
	fmt.Fprintf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">\n", c.w, c.h, esc(c.title))
	x0, x1 := float64(padLeft), float64(c.w-padRight)
	y0, y1 := float64(c.h-padBottom), float64(padTop) // y0 bottom, y1 top

	// Vertical scale: from 0 to a nice bound above the data. Reference
	// lines widen it only when near the data, so as not to flatten it.
	dataMax := 0.0
	for _, l := range c.lines {
		for _, y := range l.ys {
			if !math.IsNaN(y) && !math.IsInf(y, 0) {
				dataMax = max(dataMax, y)
			}
		}
	}
	top := dataMax
	var offScale []refLine
	for _, r := range c.refs {
		if r.y <= max(dataMax*1.6, 0) || dataMax == 0 && r.y > 0 && len(c.xs) > 0 && c.integer {
			top = max(top, r.y)
		} else if r.y > dataMax {
			offScale = append(offScale, r)
		}
	}
	if top <= 0 {
		top = 1
	}
	step := niceStep(top/5, c.integer)
	top = math.Ceil(top/step*(1+1e-9)) * step
	if top < dataMax || top == 0 {
		top += step
	}
	px := func(t float64) float64 { return x0 + (x1-x0)*t/c.xMax }
	py := func(v float64) float64 { return y0 - (y0-y1)*v/top }

	// Grid and y ticks.
	for v := 0.0; v <= top*(1+1e-9); v += step {
		y := py(v)
		fmt.Fprintf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x0, y, x1, y)
		fmt.Fprintf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", x0-6, y+4, fmtTick(v, step))
	}
	// x ticks.
	xstep := timeStep(c.xMax)
	for t := 0.0; t <= c.xMax*(1+1e-9); t += xstep {
		x := px(t)
		fmt.Fprintf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, y0, x, y0+4)
		fmt.Fprintf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x, y0+16, fmtTime(t, c.xMax))
	}
	fmt.Fprintf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x0, y0, x1, y0)
	fmt.Fprintf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x0, y0, x0, y1)
	fmt.Fprintf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time since start</text>\n", (x0+x1)/2, float64(c.h)-4)
	fmt.Fprintf(b, "<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\">%s</text>\n", (y0+y1)/2, esc(c.unit))

	// Reference lines.
	for _, r := range c.refs {
		if r.y > top {
			continue
		}
		y := py(r.y)
		fmt.Fprintf(b, "<line class=\"ref\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x0, y, x1, y)
		fmt.Fprintf(b, "<text class=\"halo\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", x1-4, y-4, esc(r.label))
	}

	if len(c.xs) == 0 {
		fmt.Fprintf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no samples (the run lasted under a second)</text>\n", (x0+x1)/2, (y0+y1)/2)
	}
	// Bars first, lines over them.
	barW := max(1, min(12, 0.7*(x1-x0)/max(c.xMax, 1)))
	for _, l := range c.lines {
		if !l.bars {
			continue
		}
		for i, v := range l.ys {
			if math.IsNaN(v) || v <= 0 {
				continue
			}
			bx := min(max(px(c.xs[i])-barW/2, x0), x1-barW)
			fmt.Fprintf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
				bx, py(v), barW, y0-py(v), l.color)
		}
	}
	for _, l := range c.lines {
		if l.bars {
			continue
		}
		var path strings.Builder
		run := 0 // points in the current segment
		for i, v := range l.ys {
			if math.IsNaN(v) {
				if run == 1 { // a lone point: a dot
					fmt.Fprintf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\"/>\n", px(c.xs[i-1]), py(l.ys[i-1]), l.color)
				}
				run = 0
				continue
			}
			cmd := "L"
			if run == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, px(c.xs[i]), py(v))
			run++
		}
		if run == 1 {
			i := len(l.ys) - 1
			fmt.Fprintf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\"/>\n", px(c.xs[i]), py(l.ys[i]), l.color)
		}
		if path.Len() == 0 {
			continue
		}
		dash := ""
		if l.dash {
			dash = " stroke-dasharray=\"6 3\""
		}
		fmt.Fprintf(b, "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\"%s/>\n",
			strings.TrimSpace(path.String()), l.color, dash)
	}

	// Legend, above the plot, with each series' median and peak.
	lx := x0
	for _, l := range c.lines {
		label := l.name
		prec := step / 10
		if c.integer {
			prec = 1
		}
		if med, peak, ok := stats(l.ys); ok {
			switch {
			case l.total:
				label += fmt.Sprintf(" (%s in all)", fmtTick(lastValue(l.ys), prec))
			case l.bars:
				label += fmt.Sprintf(" (max %s)", fmtTick(peak, prec))
			default:
				label += fmt.Sprintf(" (median %s, max %s)", fmtTick(med, prec), fmtTick(peak, prec))
			}
		}
		if l.bars {
			fmt.Fprintf(b, "<rect x=\"%.1f\" y=\"8\" width=\"10\" height=\"10\" fill=\"%s\"/>\n", lx, l.color)
			fmt.Fprintf(b, "<text x=\"%.1f\" y=\"17\">%s</text>\n", lx+14, esc(label))
		} else {
			dash := ""
			if l.dash {
				dash = " stroke-dasharray=\"6 3\""
			}
			fmt.Fprintf(b, "<line x1=\"%.1f\" y1=\"13\" x2=\"%.1f\" y2=\"13\" stroke=\"%s\" stroke-width=\"2.5\"%s/>\n", lx, lx+20, l.color, dash)
			fmt.Fprintf(b, "<text x=\"%.1f\" y=\"17\">%s</text>\n", lx+25, esc(label))
		}
		lx += 25 + 6.2*float64(len([]rune(label))) + 18
	}
	if len(offScale) > 0 {
		var parts []string
		for _, r := range offScale {
			parts = append(parts, fmt.Sprintf("%s = %s", r.label, fmtTick(r.y, step/10)))
		}
		fmt.Fprintf(b, "<text x=\"%.1f\" y=\"17\" text-anchor=\"end\" fill=\"#2e7d32\">all below %s %s, off the scale</text>\n",
			x1, esc(strings.Join(parts, ", ")), esc(c.unit))
	}

	// Hover: the values of each second.
	if n := len(c.xs); n > 0 && n <= 1200 {
		wid := (x1 - x0) / c.xMax
		for i, t := range c.xs {
			var parts []string
			for _, l := range c.lines {
				v := "–"
				if !math.IsNaN(l.ys[i]) {
					v = fmtTick(l.ys[i], step/100)
				}
				parts = append(parts, l.name+" "+v)
			}
			fmt.Fprintf(b, "<rect class=\"hover\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>%s</title></rect>\n",
				max(x0, px(t)-wid/2), y1, wid, y0-y1, esc(fmt.Sprintf("t=%s: %s %s", fmtTime(t, 0), strings.Join(parts, ", "), c.unit)))
		}
	}
	b.WriteString("</svg>\n</figure>\n")
}

// lastValue returns the last non-NaN of ys, or NaN.
func lastValue(ys []float64) float64 {
	for i := len(ys) - 1; i >= 0; i-- {
		if !math.IsNaN(ys[i]) {
			return ys[i]
		}
	}
	return math.NaN()
}

// stats returns the median and the maximum of the non-NaN ys.
func stats(ys []float64) (med, peak float64, ok bool) {
	var v []float64
	for _, y := range ys {
		if !math.IsNaN(y) {
			v = append(v, y)
		}
	}
	if len(v) == 0 {
		return 0, 0, false
	}
	slices.Sort(v)
	return v[(len(v)-1)/2], v[len(v)-1], true
}

// niceStep returns a round step (1, 2, 2.5 or 5 times a power of ten) of
// at least raw; whole if integer.
func niceStep(raw float64, integer bool) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		s := m * mag
		if s >= raw*(1-1e-9) {
			if integer && s < 1 {
				return 1
			}
			if integer && s != math.Trunc(s) {
				continue
			}
			return s
		}
	}
	return 10 * mag
}

// timeStep returns the step of the time axis of a chart of span seconds:
// about 6 to 12 ticks, on round seconds or minutes.
func timeStep(span float64) float64 {
	for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200} {
		if span/s <= 12 {
			return s
		}
	}
	return 14400
}

// fmtTime formats t seconds: 42s, or m:ss on a chart over 2 minutes long.
func fmtTime(t, span float64) string {
	if span < 120 {
		return strconv.FormatFloat(math.Round(t*10)/10, 'f', -1, 64) + "s"
	}
	s := int(math.Round(t))
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// fmtTick formats v with as many decimals as step needs (at most 3).
func fmtTick(v, step float64) string {
	d := 0
	for d < 3 && math.Abs(step*math.Pow(10, float64(d))-math.Round(step*math.Pow(10, float64(d)))) > 1e-6 {
		d++
	}
	return strconv.FormatFloat(v, 'f', d, 64)
}
