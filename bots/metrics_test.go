package main

import (
	"math"
	"slices"
	"strings"
	"testing"
)

const sampleMetrics = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 42
# HELP go_memstats_heap_alloc_bytes Number of heap bytes allocated and currently in use.
# TYPE go_memstats_heap_alloc_bytes gauge
go_memstats_heap_alloc_bytes 1.753088e+06
go_memstats_heap_inuse_bytes 2.5e+06

# TYPE skirmish_tick_duration_seconds histogram
skirmish_tick_duration_seconds_bucket{le="2.5e-05"} 0
skirmish_tick_duration_seconds_bucket{le="5e-05"} 10
skirmish_tick_duration_seconds_bucket{le="0.0001"} 900
skirmish_tick_duration_seconds_bucket{le="0.00025"} 985
skirmish_tick_duration_seconds_bucket{le="0.0005"} 990
skirmish_tick_duration_seconds_bucket{le="0.001"} 999
skirmish_tick_duration_seconds_bucket{le="+Inf"} 1000
skirmish_tick_duration_seconds_sum 0.09
skirmish_tick_duration_seconds_count 1000
skirmish_tick_overruns_total 0
skirmish_store_errors_total{op="save"} 2
skirmish_store_errors_total{op="load"} 1
skirmish_closes_total{reason="a \"quoted\", \\ odd\nname",other="x"} 3 1700000000000
weird_nan NaN
`

func TestParseMetrics(t *testing.T) {
	m, err := parseMetrics(strings.NewReader(sampleMetrics))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := m.value("go_goroutines"); !ok || v != 42 {
		t.Errorf("go_goroutines %v %v", v, ok)
	}
	if v, name, ok := heapMetric(m); !ok || v != 1753088 || name != "go_memstats_heap_alloc_bytes" {
		t.Errorf("heap %v %s %v", v, name, ok)
	}
	if v, ok := m.sum("skirmish_store_errors_total"); !ok || v != 3 {
		t.Errorf("store errors %v %v", v, ok)
	}
	if _, ok := m.sum("skirmish_panics_total"); ok {
		t.Error("absent metric found")
	}
	closes := m["skirmish_closes_total"].GetMetric()
	labels := map[string]string{}
	for _, lp := range closes[0].GetLabel() {
		labels[lp.GetName()] = lp.GetValue()
	}
	if v, _ := m.value("skirmish_closes_total"); len(closes) != 1 || v != 3 || closes[0].GetTimestampMs() != 1700000000000 ||
		labels["reason"] != "a \"quoted\", \\ odd\nname" || labels["other"] != "x" {
		t.Errorf("escaped labels and timestamp: %v", closes)
	}
	if _, ok := m.sum("skirmish_tick_duration_seconds"); ok {
		t.Error("a histogram summed as a counter")
	}
	if v, _ := m.value("weird_nan"); !math.IsNaN(v) {
		t.Errorf("NaN: %v", v)
	}
	bs := m.buckets("skirmish_tick_duration_seconds")
	if len(bs) != 7 || bs[0].LE != 25e-6 || !math.IsInf(bs[6].LE, 1) || bs[6].Count != 1000 {
		t.Errorf("buckets %v", bs)
	}
	// 99% of 1000 is 990: the 0.5 ms bucket holds exactly that many.
	if le, total := histQuantile(bs, 0.99); le != 0.0005 || total != 1000 {
		t.Errorf("p99 %v of %v, want 0.0005 of 1000", le, total)
	}
	if le, _ := histQuantile(bs, 0.5); le != 0.0001 {
		t.Errorf("p50 %v", le)
	}
	if le, _ := histQuantile(bs, 0.9995); !math.IsInf(le, 1) {
		t.Errorf("p99.95 %v, want +Inf", le)
	}

	// Without the heap_alloc gauge, heap_inuse is used.
	m2, _ := parseMetrics(strings.NewReader("go_memstats_heap_inuse_bytes 7\n"))
	if v, name, ok := heapMetric(m2); !ok || v != 7 || name != "go_memstats_heap_inuse_bytes" {
		t.Errorf("heap fallback %v %s %v", v, name, ok)
	}
}

// A histogram's series add up by bound, and one whose text has no +Inf
// bucket gets it from its count.
func TestHistogramBuckets(t *testing.T) {
	m, err := parseMetrics(strings.NewReader(`# TYPE h histogram
h_bucket{mode="arena",le="0.1"} 3
h_bucket{mode="arena",le="1"} 5
h_bucket{mode="arena",le="+Inf"} 6
h_sum{mode="arena"} 2
h_count{mode="arena"} 6
h_bucket{mode="tag",le="0.1"} 1
h_bucket{mode="tag",le="1"} 2
h_sum{mode="tag"} 1
h_count{mode="tag"} 4
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []bucket{{0.1, 4}, {1, 7}, {math.Inf(1), 10}}
	if got := m.buckets("h"); !slices.Equal(got, want) {
		t.Errorf("buckets %v, want %v", got, want)
	}
	if got := m.buckets("absent"); got != nil {
		t.Errorf("absent histogram: %v", got)
	}
}

func TestParseMetricsErrors(t *testing.T) {
	for _, bad := range []string{
		"novalue\n",
		"x{a=\"1\" 2\n",
		"x{a=1} 2\n",
		"x{a=\"1} 2\n",
		"x 1 2 3\n",
		"x abc\n",
	} {
		if _, err := parseMetrics(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestHistQuantileDelta(t *testing.T) {
	base := []bucket{{0.001, 100}, {0.005, 100}, {0.01, 100}, {math.Inf(1), 100}}
	cur := []bucket{{0.001, 150}, {0.005, 195}, {0.01, 200}, {math.Inf(1), 200}}
	d := subBuckets(cur, base)
	// The run's 100 ticks: 50 ≤ 1 ms, 95 ≤ 5 ms, 100 ≤ 10 ms.
	if le, total := histQuantile(d, 0.99); le != 0.01 || total != 100 {
		t.Errorf("p99 of the delta %v of %v, want 0.01 of 100", le, total)
	}
	if le, total := histQuantile(subBuckets(base, base), 0.99); le != 0 || total != 0 {
		t.Errorf("no ticks: %v of %v", le, total)
	}
	if le, total := histQuantile(nil, 0.99); le != 0 || total != 0 {
		t.Errorf("no buckets: %v of %v", le, total)
	}
	// Everything in the first bucket.
	if le, _ := histQuantile([]bucket{{25e-6, 10}, {math.Inf(1), 10}}, 0.99); le != 25e-6 {
		t.Errorf("first bucket: %v", le)
	}
}
