package web

import (
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"skirmish/client"
	"skirmish/netcode"
)

// The browser's copies of the input rules (netcode/seq.go: the
// just-in-time controller, the history, the resend windows, the batch)
// must stay equal to netcode's, the one home of those rules: this test
// reads them from the JavaScript and fails on any drift. Two are the
// browser's own on purpose (see browserOnly).
func TestJSMirrorsNetcode(t *testing.T) {
	want := map[string]float64{
		"JIT_GAIN":               netcode.JITGain,
		"JIT_EWMA":               netcode.JITAlpha,
		"JIT_MIN_TARGET_US":      netcode.JITMinTargetUs,
		"JIT_STALE_MIN_US":       netcode.JITStaleMinUs,
		"JIT_MISS_BOOST_US":      netcode.JITMissBoostUs,
		"JIT_MAX_BOOST_US":       netcode.JITMaxBoostUs,
		"FIRST_MARGIN_MS":        float64(netcode.FirstMargin / time.Millisecond),
		"HISTORY_MS":             float64(netcode.HistoryWindow / time.Millisecond),
		"MAX_BATCH":              netcode.MaxBatch,
		"RESEND_WINDOW":          netcode.InputQueue,
		"RESEND_WINDOW_RESTORED": netcode.ReplayQueue,
		// The adaptive interpolation (client/interp.go, mirror.js).
		"INTERP_INTERVALS":    client.InterpIntervals,
		"INTERP_JITTER_MUL":   client.InterpJitterMul,
		"INTERP_WINDOW":       client.InterpWindow,
		"INTERP_MAX_SKEW":     client.InterpMaxSkew,
		"INTERP_GAIN":         client.InterpGain,
		"INTERP_SNAP_TICKS":   client.InterpSnapTicks,
		"INTERP_MAX_DELAY_MS": float64(client.InterpMaxDelay / time.Millisecond),
		// Jumps are drawn as the server rewinds them (netcode.Lerp).
		"JUMP_DISTANCE": netcode.JumpDistance,
	}
	// The browser's timers fire later and less evenly than the Go
	// client's, so its margin may grow larger and one jitter sample
	// counts for more (docs/PROTOCOL.md §11).
	browserOnly := map[string]float64{"JIT_MAX_TARGET_US": 15000, "JIT_MAX_SAMPLE_US": 10000}
	got := map[string]float64{}
	re := regexp.MustCompile(`(?m)^(?:export )?const ([A-Z_]+) = ([0-9.]+|[A-Z_]+);`)
	for _, f := range []string{"prediction.js", "state.js", "connection.js", "mirror.js", "render.js", "interp.js"} {
		src, err := os.ReadFile("static/js/" + f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			if v, err := strconv.ParseFloat(m[2], 64); err == nil {
				got[m[1]] = v
			} else if v, ok := got[m[2]]; ok { // const A = B;
				got[m[1]] = v
			}
		}
	}
	for _, set := range []map[string]float64{want, browserOnly} {
		for name, w := range set {
			if v, ok := got[name]; !ok {
				t.Errorf("%s: not found in web/static/js", name)
			} else if v != w {
				t.Errorf("%s = %v in the browser, %v in netcode (or its documented browser value)", name, v, w)
			}
		}
	}
}
