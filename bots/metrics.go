package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// promMetrics are the metric families of one scrape, by name, as
// expfmt's parser of the Prometheus text format returns them.
type promMetrics map[string]*dto.MetricFamily

// parseMetrics reads the Prometheus text exposition format (version 0.0.4).
func parseMetrics(r io.Reader) (promMetrics, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return fams, nil
}

// sampleValue is the value of a counter, gauge or untyped series (false:
// another type).
func sampleValue(t dto.MetricType, m *dto.Metric) (float64, bool) {
	switch t {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue(), true
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue(), true
	case dto.MetricType_UNTYPED:
		return m.GetUntyped().GetValue(), true
	}
	return 0, false
}

// sum returns the sum of every series of the counter, gauge or untyped
// metric name (all label values) and whether there is any.
func (m promMetrics) sum(name string) (float64, bool) {
	mf := m[name]
	var total float64
	found := false
	for _, s := range mf.GetMetric() {
		if v, ok := sampleValue(mf.GetType(), s); ok {
			total += v
			found = true
		}
	}
	return total, found
}

// value returns the first series of the counter, gauge or untyped metric
// name, ignoring labels.
func (m promMetrics) value(name string) (float64, bool) {
	mf := m[name]
	for _, s := range mf.GetMetric() {
		if v, ok := sampleValue(mf.GetType(), s); ok {
			return v, true
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

// buckets returns the buckets of histogram name, ordered by bound, with
// the counts of every series (all label values) added up; the last one's
// bound is +Inf.
func (m promMetrics) buckets(name string) []bucket {
	mf := m[name]
	if mf.GetType() != dto.MetricType_HISTOGRAM {
		return nil
	}
	byLE := map[float64]float64{}
	for _, s := range mf.GetMetric() {
		h := s.GetHistogram()
		for _, b := range h.GetBucket() {
			byLE[b.GetUpperBound()] += float64(b.GetCumulativeCount())
		}
		if len(h.GetBucket()) == 0 || !math.IsInf(h.GetBucket()[len(h.GetBucket())-1].GetUpperBound(), 1) {
			byLE[math.Inf(1)] += float64(h.GetSampleCount()) // every observation is at most +Inf
		}
	}
	out := make([]bucket, 0, len(byLE))
	for le, n := range byLE {
		out = append(out, bucket{LE: le, Count: n})
	}
	slices.SortFunc(out, func(a, b bucket) int { return cmp.Compare(a.LE, b.LE) })
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
