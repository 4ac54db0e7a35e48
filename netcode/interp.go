package netcode

// JumpDistance is how far (|dx| + |dy|, in units) an entity may move
// between two consecutive states and still be drawn sliding between them.
// A longer move is a jump (a respawn, a teleport): it is drawn at the
// older place for the first half of the interval and at the newer for the
// second. Clients draw it so (Lerp), and the server's lag compensation
// rewinds it the same way, so that a shot aimed at what a client drew is
// tested against the same place.
const JumpDistance = 300

// Lerp returns the place g (0 to 1) of the way from (ax, ay) to (bx, by),
// as clients draw an entity between two states: a straight slide, or for
// a jump (JumpDistance) the nearer of the two ends.
func Lerp(ax, ay, bx, by, g float32) (x, y float32) {
	if abs32(bx-ax)+abs32(by-ay) > JumpDistance {
		if g < 0.5 {
			return ax, ay
		}
		return bx, by
	}
	return ax + (bx-ax)*g, ay + (by-ay)*g
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}
