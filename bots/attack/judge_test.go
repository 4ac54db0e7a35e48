package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestJudges checks each assertion on both sides of its limits.
func TestJudges(t *testing.T) {
	cfg := Config{}.withDefaults()
	cfg.HelloTimeout = time.Second
	for _, tc := range []struct {
		name string
		o    interface{ judge(*Config) Result }
		pass bool
	}{
		// burst 50 + 10/s × 1 s + 5 = 65
		{"flood at the limit", &floodObs{n: 2000, elapsed: time.Second, created: 65, limited: 1935, retryAfter: 1935}, true},
		{"flood over the limit", &floodObs{n: 2000, elapsed: time.Second, created: 66, limited: 1934, retryAfter: 1934}, false},
		{"flood, a 429 without Retry-After", &floodObs{n: 2000, elapsed: time.Second, created: 60, limited: 1940, retryAfter: 1939}, false},
		{"flood, half limited", &floodObs{n: 100, elapsed: time.Second, created: 50, limited: 50, retryAfter: 50}, false},
		{"flood, errors but most limited", &floodObs{n: 2000, elapsed: time.Second, created: 60, limited: 1500, retryAfter: 1500, errs: 440}, true},
		{"flood, nothing limited", &floodObs{n: 2000, elapsed: time.Second, created: 2000}, false},

		{"hello: all 4006", &helloObs{n: 100, timedOut: 100}, true},
		{"hello: one open", &helloObs{n: 100, timedOut: 99, open: 1}, false},
		{"hello: one other code", &helloObs{n: 100, timedOut: 99, otherCodes: map[uint16]int{4002: 1}}, false},
		{"hello: setup", &helloObs{err: errors.New("no tokens")}, false},

		{"one token: one", &oneTokenObs{n: 100, upgraded: 1, limited: 99}, true},
		{"one token: none", &oneTokenObs{n: 100, limited: 99, other: map[int]int{0: 1}}, false},
		{"one token: two", &oneTokenObs{n: 100, upgraded: 2, limited: 98}, false},

		{"ping: few pongs", &pingObs{pings: 5000, pongs: 499, snapshots: 60, maxGap: 40 * time.Millisecond}, true},
		{"ping: closed 1008 early", &pingObs{pings: 700, pongs: 20, flooderClosed: true, flooderCode: closeFlood, snapshots: 60, maxGap: 40 * time.Millisecond}, true},
		{"ping: pongs pings/10", &pingObs{pings: 5000, pongs: 500, snapshots: 60, maxGap: 40 * time.Millisecond}, false},
		{"ping: player starved", &pingObs{pings: 5000, pongs: 10, snapshots: 60, maxGap: 600 * time.Millisecond}, false},
		{"ping: player without snapshots", &pingObs{pings: 5000, pongs: 10}, false},
		{"ping: player dropped", &pingObs{pings: 5000, pongs: 10, snapshots: 60, maxGap: 40 * time.Millisecond, playerClosed: true}, false},
		{"ping: no pings", &pingObs{snapshots: 60}, false},

		{"close-then-hello: right", &closeHelloObs{attackerClosed: true, attackerCode: closeProtocol}, true},
		{"close-then-hello: replaced", &closeHelloObs{attackerClosed: true, attackerCode: closeProtocol, playerClosed: true, playerCode: closeReplaced}, false},
		{"close-then-hello: attacker open", &closeHelloObs{}, false},
		{"close-then-hello: other code", &closeHelloObs{attackerClosed: true, attackerCode: 1002}, false},

		{"closes: all", &closesObs{n: 50, closed: 50}, true},
		{"closes: one open", &closesObs{n: 50, closed: 49, open: 1}, false},
		{"closes: one not set up", &closesObs{n: 50, closed: 49, errs: 1}, false},

		{"cap: at the cap", &capObs{n: 2000, upgraded: 256, limited: 1744}, true},
		{"cap: fewer", &capObs{n: 2000, upgraded: 200, limited: 1800}, true},
		{"cap: over", &capObs{n: 2000, upgraded: 257, limited: 1743}, false},
		{"cap: other refusals", &capObs{n: 2000, upgraded: 256, limited: 1743, other: map[int]int{503: 1}}, false},

		{"watch: fine", &watchObs{n: 300, max: 10 * time.Millisecond}, true},
		{"watch: slow", &watchObs{n: 300, slow: 1}, false},
		{"watch: failed", &watchObs{n: 300, failed: 1, firstFail: "refused"}, false},
		{"watch: nothing", &watchObs{}, false},

		{"alive", &aliveObs{pid: 1, alive: true}, true},
		{"alive without pid", &aliveObs{}, true},
		{"dead", &aliveObs{pid: 1}, false},
		{"no healthz", &aliveObs{pid: 1, alive: true, healthErr: errors.New("refused")}, false},

		{"rss grew little", &rssObs{start: 20 << 20, end: 119 << 20}, true},
		{"rss grew 100 MB", &rssObs{start: 20 << 20, end: 120 << 20}, false},
		{"rss unreadable", &rssObs{start: 20 << 20, err: errors.New("gone")}, false},
	} {
		r := tc.o.judge(&cfg)
		if r.Pass != tc.pass {
			t.Errorf("%s: pass %v, want %v (%s)", tc.name, r.Pass, tc.pass, r.Detail)
		}
		if r.Detail == "" {
			t.Errorf("%s: no detail", tc.name)
		}
	}
}

func TestResultString(t *testing.T) {
	if s := (Result{Name: "x", Pass: true, Detail: "1 < 2"}).String(); s != "PASS x: 1 < 2" {
		t.Errorf("%q", s)
	}
	if s := (Result{Name: "y", Detail: "3 > 2"}).String(); s != "FAIL y: 3 > 2" {
		t.Errorf("%q", s)
	}
	o := &floodObs{n: 10, elapsed: time.Second, created: 10, rssBefore: 10 << 20, rssAfter: 12 << 20}
	if s := o.saw(); !strings.Contains(s, "server RSS 10.0 MB before, 12.0 MB after") {
		t.Errorf("flood line %q lacks the RSS", s)
	}
}
