package server

import (
	"strings"
	"testing"
	"time"

	"skirmish/match"
)

// -rewind-max: 200 ms by default, 0 is no rewind (negative in Options and
// match.Config), over 1 s or negative is refused.
func TestRewindMaxFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
		err  string
	}{
		{nil, match.DefaultRewindMax, ""},
		{[]string{"-rewind-max", "0"}, -1, ""},
		{[]string{"-rewind-max", "0s"}, -1, ""},
		{[]string{"-rewind-max", "150ms"}, 150 * time.Millisecond, ""},
		{[]string{"-rewind-max", "1s"}, time.Second, ""},
		{[]string{"-rewind-max", "1001ms"}, 0, "must be 0 (no rewind) to 1s"},
		{[]string{"-rewind-max", "-10ms"}, 0, "must be 0 (no rewind) to 1s"},
		{[]string{"-rewind-max", "soon"}, 0, "invalid"},
	} {
		o, err := parseFlags(tc.args...)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want an error with %q", tc.args, err, tc.err)
			}
			continue
		case err != nil:
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		o.EnsureDefaults()
		if err := o.Validate(); err != nil || o.RewindMax != tc.want {
			t.Errorf("%q: RewindMax %v (%v), want %v", tc.args, o.RewindMax, err, tc.want)
		}
		cfg := match.Config{TickRate: 30, RewindMax: o.RewindMax}
		cfg.EnsureDefaults()
		if tc.want < 0 && cfg.RewindTicks() != 0 {
			t.Errorf("%q: %d ticks of rewind, want none", tc.args, cfg.RewindTicks())
		}
	}
	o := (&Options{RewindMax: 2 * time.Second}).EnsureDefaults()
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "rewind-max") {
		t.Errorf("a rewind of 2 s: %v", err)
	}
}
