package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// promSample is one line of the Prometheus text exposition format.
type promSample struct {
	name   string
	labels map[string]string
	value  float64
}

// promMetrics are the samples of one scrape.
type promMetrics []promSample

// parseMetrics reads the Prometheus text format (version 0.0.4): comment
// and blank lines are skipped; every other line is
// name[{label="value",…}] value [timestamp].
func parseMetrics(r io.Reader) (promMetrics, error) {
	var out promMetrics
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %w", n, err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseSample(line string) (promSample, error) {
	var s promSample
	i := strings.IndexAny(line, "{ \t")
	if i <= 0 {
		return s, fmt.Errorf("no value: %q", line)
	}
	s.name, line = line[:i], line[i:]
	if line[0] == '{' {
		s.labels = map[string]string{}
		line = line[1:]
		for {
			line = strings.TrimLeft(line, " \t,")
			if line == "" {
				return s, errors.New("unterminated labels")
			}
			if line[0] == '}' {
				line = line[1:]
				break
			}
			eq := strings.IndexByte(line, '=')
			if eq <= 0 || len(line) < eq+2 || line[eq+1] != '"' {
				return s, fmt.Errorf("bad label in %q", line)
			}
			key := strings.TrimSpace(line[:eq])
			val, rest, err := unquoteLabel(line[eq+2:])
			if err != nil {
				return s, err
			}
			s.labels[key] = val
			line = rest
		}
	}
	fields := strings.Fields(line)
	if len(fields) < 1 || len(fields) > 2 {
		return s, fmt.Errorf("bad value %q", line)
	}
	v, err := parseFloat(fields[0])
	if err != nil {
		return s, err
	}
	s.value = v
	return s, nil
}

// unquoteLabel reads a label value up to its closing quote (the opening
// one is consumed), with the format's escapes \\, \" and \n.
func unquoteLabel(s string) (val, rest string, err error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 == len(s) {
				return "", "", errors.New("unterminated label value")
			}
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			default:
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("unterminated label value")
}

// parseFloat reads a sample value: a Go float, or +Inf, -Inf, NaN.
func parseFloat(s string) (float64, error) {
	switch s {
	case "+Inf", "Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	case "NaN":
		return math.NaN(), nil
	}
	return strconv.ParseFloat(s, 64)
}

// sum returns the sum of every series of the metric name (all label
// values) and whether there is any.
func (m promMetrics) sum(name string) (float64, bool) {
	var total float64
	found := false
	for _, s := range m {
		if s.name == name {
			total += s.value
			found = true
		}
	}
	return total, found
}

// value returns the first series of the metric name, ignoring labels.
func (m promMetrics) value(name string) (float64, bool) {
	for _, s := range m {
		if s.name == name {
			return s.value, true
		}
	}
	return 0, false
}

// bucket is one cumulative bucket of a histogram: Count observations were
// at most LE.
type bucket struct {
	LE    float64
	Count float64
}

// buckets returns the buckets of histogram name (its name_bucket series),
// ordered by bound; the last one's bound is +Inf.
func (m promMetrics) buckets(name string) []bucket {
	var out []bucket
	for _, s := range m {
		if s.name != name+"_bucket" {
			continue
		}
		le, err := parseFloat(s.labels["le"])
		if err != nil {
			continue
		}
		out = append(out, bucket{LE: le, Count: s.value})
	}
	slices.SortFunc(out, func(a, b bucket) int {
		switch {
		case a.LE < b.LE:
			return -1
		case a.LE > b.LE:
			return 1
		}
		return 0
	})
	return out
}

// subBuckets returns the buckets of cur minus those of base with the same
// bound: the observations between two scrapes.
func subBuckets(cur, base []bucket) []bucket {
	out := slices.Clone(cur)
	for i := range out {
		for _, b := range base {
			if b.LE == out[i].LE {
				out[i].Count -= b.Count
			}
		}
	}
	return out
}

// histQuantile returns the smallest bucket bound le such that at least
// q×total observations are at most le (q in (0, 1]), and total, the count
// of the +Inf (last) bucket. It is +Inf if only the +Inf bucket holds
// them, and 0 with total 0 if there are no observations.
func histQuantile(bs []bucket, q float64) (le, total float64) {
	if len(bs) == 0 {
		return 0, 0
	}
	total = bs[len(bs)-1].Count
	if total <= 0 {
		return 0, 0
	}
	for _, b := range bs {
		if b.Count >= q*total {
			return b.LE, total
		}
	}
	return math.Inf(1), total
}

// httpc talks to the server and its debug listener without keeping
// connections: an idle keep-alive connection is a goroutine on the server,
// and the soak counts them.
var httpc = &http.Client{
	Timeout:   10 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true},
}

// getBody GETs url and returns the body of a 200 answer.
func getBody(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

// scrape reads the metrics of the server at base; with a debugURL it first
// forces a garbage collection there, so that the heap figures hold live
// memory only.
func scrape(ctx context.Context, base, debugURL string) (promMetrics, error) {
	if debugURL != "" {
		if _, err := getBody(ctx, strings.TrimRight(debugURL, "/")+"/debug/pprof/heap?gc=1"); err != nil {
			return nil, fmt.Errorf("force a GC: %w", err)
		}
	}
	body, err := getBody(ctx, strings.TrimRight(base, "/")+"/metrics")
	if err != nil {
		return nil, err
	}
	return parseMetrics(strings.NewReader(string(body)))
}
