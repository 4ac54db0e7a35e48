package server

import (
	"fmt"
	"testing"
	"time"
)

// A full node (overloaded or at -max-players) is no taker of a dead
// node's matches: the others adopt them at once, and it adopts only as
// the last resort, after adoptFallback.
func TestFullNodeAdoptsLast(t *testing.T) {
	nodes := []NodeInfo{{ID: "a"}, {ID: "b", Full: true}, {ID: "c", Draining: true}, {ID: "d"}}
	takers := adoptTakers(nodes)
	if fmt.Sprint(takers) != "[a d]" {
		t.Fatalf("takers %v, want [a d]", takers)
	}
	for i := range 200 {
		id := fmt.Sprintf("m%d", i)
		picked := pick(id, takers)
		if picked != "a" && picked != "d" {
			t.Fatalf("match %s picked %s", id, picked)
		}
		for _, me := range []string{"a", "b", "d"} {
			if got := adoptsNow(me, id, takers, me == "b", 0); got != (me == picked) {
				t.Errorf("%s adopts %s at once: %v (picked %s)", me, id, got, picked)
			}
			if !adoptsNow(me, id, takers, me == "b", adoptFallback) {
				t.Errorf("%s does not adopt %s after the fallback", me, id)
			}
		}
		// The picked node fills up before it adopts: it waits too.
		if adoptsNow(picked, id, takers, true, adoptFallback-time.Millisecond) {
			t.Errorf("%s adopts %s while full", picked, id)
		}
	}
}
