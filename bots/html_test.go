package main

import (
	"encoding/xml"
	"errors"
	"io"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

// testReport returns the report of a made-up chaos run of 12 s with a soak
// result.
func testReport() Report {
	cfg := Config{N: 16, Mode: "arena", Behavior: BehaviorFight, Chaos: 2, Seed: 7, URL: "http://127.0.0.1:18600"}
	r := buildReport(cfg, 12*time.Second, totals{connected: 16, snapshots: 5000, inputsSent: 5000,
		disconnects: 6, reconnects: 6, resumed: 5, tickRate: 30, chaosCuts: 6, chaosCutsPlaying: 5, moved: 3, migrated: 2,
		recons: []time.Duration{250 * time.Millisecond, 280 * time.Millisecond},
		queues: []queueSample{{"m1", 40 * time.Millisecond}, {"m1", 900 * time.Millisecond}},
		migs:   []migration{{at: time.Now(), d: 80 * time.Millisecond, drain: true}, {at: time.Now(), d: 1500 * time.Millisecond}}},
		2, []time.Duration{3 * time.Millisecond, 5 * time.Millisecond}, 1, []string{`bot-3: dial: Post "http://x/v1/sessions": refused <&>`})
	r.StartedAt = "2026-01-02T03:04:05Z"
	for i := 1; i <= 12; i++ {
		s := Sample{T: float64(i), Acks: 400, AckP50MS: 3 + float64(i%3), AckP99MS: 9 + float64(i%5),
			DownBytesPerBot: 2100 + 30*float64(i), UpBytesPerBot: 700, Connected: 16, Playing: 16,
			Disconnects: i / 2, Reconnects: (i - 1) / 2, Resumed: (i - 1) / 2, Moved: i / 4, Migrated: i / 6}
		if i == 1 {
			s.Acks, s.AckP50MS, s.AckP99MS, s.Playing, s.Connected = 0, 0, 0, 0, 5 // a gap in the ack lines
		}
		if i%4 == 0 {
			s.Connected, s.Reconnecting = 15, 1
		}
		r.Series = append(r.Series, s)
	}
	r.Soak = &SoakResult{Checks: []Check{
		check("server goroutines", 17, 20, "", "baseline 15"),
		check("server tick p99", math.Inf(1), 8.333, "ms", "above every bucket"),
		check("bots ack p99", 14, 66.667, "ms", ""),
	}}
	return r
}

func TestWriteHTML(t *testing.T) {
	for _, tc := range []struct {
		name string
		rep  Report
	}{
		{"chaos run", testReport()},
		{"no samples", buildReport(Config{N: 2, Mode: "tag", Behavior: BehaviorWander}, 500*time.Millisecond, totals{}, 0, nil, 0, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := tc.rep.WriteHTML(&b); err != nil {
				t.Fatal(err)
			}
			page := b.String()
			checkPage(t, page)
			if tc.rep.Series == nil || len(tc.rep.Series) == 0 {
				if !strings.Contains(page, "no samples") {
					t.Error("an empty series does not say so")
				}
				return
			}
			for _, want := range []string{
				"<title>Skirmish bots: 16 bots, arena, fight, 12 s, chaos 2</title>",
				"Soak FAIL: 2 of 3 checks passed", "+Inf", "≤ 8.333 ms",
				"Input ack latency", "Download per bot", "Upload per bot", "Bots", "Connection drops and reconnects",
				"time since start", "2 ticks (soak limit of p99)", "1 tick", "12s", "KB/s",
				"resumed (5 in all)", "disconnects (6 in all)", "moved (3 in all)", "migrated (2 in all)",
				"<th>moved (redirects followed)</th><td>3</td>", "<th>seats migrated to another node</th><td>2</td>",
				"<th>queue → matched p50 / p99 / max</th><td>40 / 900 / 900 ms</td>",
				"<th>… shortest per match (no fill wait)</th><td>40 / 40 / 40 ms</td>",
				"<th>migration p50 / p99 / max</th><td>80 / 1500 / 1500 ms</td>",
				"<th>… after a drain (1)</th><td>80 / 80 / 80 ms</td>",
				"<th>… after a node death (1)</th><td>1500 / 1500 / 1500 ms</td>",
				"127.0.0.1:18600", "seed 7", "tick rate 30 Hz",
				"refused &lt;&amp;&gt;", // error samples are escaped
			} {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if n := strings.Count(page, "<svg "); n != 5 {
				t.Errorf("%d charts, want 5", n)
			}
		})
	}
}

// checkPage checks that page is self-contained, well-formed markup with
// sane SVG.
func checkPage(t *testing.T, page string) {
	t.Helper()
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.Contains(page, "<svg ") {
		t.Fatalf("not an HTML page with SVG:\n%.300s", page)
	}
	// Well-formed: every element closed and nested right (the page is
	// written as XML-compatible HTML).
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict = true
	depth, svgs := 0, 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			depth++
			switch e.Name.Local {
			case "script", "link", "img", "iframe", "object", "embed", "image", "use", "foreignObject":
				t.Errorf("element <%s> in a self-contained page", e.Name.Local)
			case "svg":
				svgs++
				if attr(e, "viewBox") == "" {
					t.Error("svg without a viewBox")
				}
			case "path":
				if !regexp.MustCompile(`^(?:[ML]-?\d+(?:\.\d+)? -?\d+(?:\.\d+)? ?)+$`).MatchString(attr(e, "d")) {
					t.Errorf("bad path %q", attr(e, "d"))
				}
			}
			for _, a := range e.Attr {
				if a.Name.Local == "src" || a.Name.Local == "href" || strings.HasPrefix(a.Name.Local, "on") {
					t.Errorf("attribute %s=%q", a.Name.Local, a.Value)
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	if depth != 0 || svgs == 0 {
		t.Errorf("depth %d at the end, %d svgs", depth, svgs)
	}
	// Nothing to load: the only http URLs are the SVG namespace.
	rest := strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, "")
	rest = strings.ReplaceAll(rest, `Post &#34;http://x/v1/sessions&#34;`, "") // an error sample's text
	for _, bad := range []string{"http", "url(", "@import", "@font-face", "//"} {
		if i := strings.Index(strings.ToLower(rest), bad); i >= 0 {
			t.Errorf("%q in the page: %.80q", bad, rest[max(0, i-30):])
		}
	}
	for _, bad := range []string{"NaN", "Inf ", "%!"} {
		if strings.Contains(page, bad) {
			t.Errorf("%q in the page", bad)
		}
	}
	// Every coordinate is finite and inside its chart.
	for _, m := range regexp.MustCompile(`(?:x|y|x1|x2|y1|y2|cx|cy|width|height)="(-?[\d.]+)"`).FindAllStringSubmatch(page, -1) {
		if strings.HasPrefix(m[1], "-") {
			t.Errorf("negative coordinate %s", m[0])
		}
	}
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func TestHTMLPath(t *testing.T) {
	for in, want := range map[string]string{
		"soak-report.json":  "soak-report.html",
		"/tmp/x/r.json":     "/tmp/x/r.html",
		"report":            "report.html",
		"a.b/report":        "a.b/report.html",
		"page.html":         "page.html.html",
		"dir/run.2026.json": "dir/run.2026.html",
	} {
		if got := htmlPath(in); got != want {
			t.Errorf("htmlPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNiceSteps(t *testing.T) {
	for _, c := range []struct {
		raw     float64
		integer bool
		want    float64
	}{
		{0.7, false, 1}, {1.3, false, 2}, {2.2, false, 2.5}, {3, false, 5}, {7, false, 10},
		{0.013, false, 0.02}, {2.2, true, 5}, {0.3, true, 1}, {0, false, 1}, {26, true, 50},
	} {
		if got := niceStep(c.raw, c.integer); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("niceStep(%v, %v) = %v, want %v", c.raw, c.integer, got, c.want)
		}
	}
	if timeStep(6) != 1 || timeStep(60) != 5 || timeStep(3600) != 300 {
		t.Errorf("time steps %v %v %v", timeStep(6), timeStep(60), timeStep(3600))
	}
	if fmtTime(90, 3600) != "1:30" || fmtTime(12, 60) != "12s" {
		t.Errorf("fmtTime %q %q", fmtTime(90, 3600), fmtTime(12, 60))
	}
	if fmtTick(2.5, 0.5) != "2.5" || fmtTick(20, 5) != "20" || fmtTick(0.25, 0.25) != "0.25" {
		t.Errorf("fmtTick %q %q %q", fmtTick(2.5, 0.5), fmtTick(20, 5), fmtTick(0.25, 0.25))
	}
}
