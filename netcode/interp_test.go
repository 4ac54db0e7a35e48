package netcode

import "testing"

// A move up to JumpDistance slides; a longer one (a respawn) is drawn at
// the nearer end, so that nothing is ever drawn where it never was.
func TestLerp(t *testing.T) {
	for _, c := range []struct {
		ax, ay, bx, by, g, x, y float32
	}{
		{0, 0, 100, 200, 0.25, 25, 50},
		{0, 0, 150, 150, 0.5, 75, 75},       // |dx| + |dy| = 300: still a slide
		{0, 0, 200, 101, 0.49, 0, 0},        // 301: a jump, first half
		{0, 0, 200, 101, 0.5, 200, 101},     // second half
		{500, 500, 100, 100, 0.9, 100, 100}, // backwards
	} {
		if x, y := Lerp(c.ax, c.ay, c.bx, c.by, c.g); x != c.x || y != c.y {
			t.Errorf("Lerp(%v, %v → %v, %v at %v) = (%v, %v), want (%v, %v)", c.ax, c.ay, c.bx, c.by, c.g, x, y, c.x, c.y)
		}
	}
}
