package main

import (
	"testing"
	"time"
)

// testConfig is a small run against url, with the fake server's limits.
func testConfig(url string) Config {
	return Config{
		URL: url, HelloTimeout: 300 * time.Millisecond, HTTPReadTimeout: time.Second, HTTPIdleTimeout: time.Second,
		SessionRate: 10, SessionBurst: 10, MaxConnsPerIP: 20,
		Flood: 200, NoHello: 10, OneToken: 10, Pings: 500, PingFor: 500 * time.Millisecond,
		SlowPosts: 5, Idle: 5, Upgrades: 60,
	}
}

// TestAttacksAgainstFake runs each attack but the ping flood (it needs a
// real match) against a stand-in server: each assertion passes where the
// server enforces the limits, and fails where it does not.
func TestAttacksAgainstFake(t *testing.T) {
	t.Parallel()
	for _, guard := range []bool{true, false} {
		name := map[bool]string{true: "hardened", false: "open"}[guard]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fake := startFake(t, guard)
			fake.burst = 10
			a, err := newAttacker(testConfig(fake.url))
			if err != nil {
				t.Fatal(err)
			}
			for _, at := range attacks {
				if at.name == "ping-flood" {
					continue
				}
				o := at.do(a, t.Context())
				r := o.judge(&a.cfg)
				r.Name = at.name
				t.Logf("%s: %s\n%s", at.name, o.saw(), r)
				if r.Pass != guard {
					t.Errorf("%s against the %s server: pass %v", at.name, name, r.Pass)
				}
			}
		})
	}
}
