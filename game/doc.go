// Package game owns the rules API that game developers implement, the entity
// model and the world's spatial grid (Grid), and the built-in modes (arena
// and tag).
//
// A mode is a Mode: a Spec that declares its world, its seats and its entity
// schema once, and Rules that join and leave players, validate and apply
// their inputs, step the world and decide when and how a match ends. The
// match package runs Rules on a fixed tick; the netcode package encodes the
// World from the Spec's schema, so a mode writes no network code.
//
// Rules know nothing of sockets, sessions or wall-clock time: they get the
// fixed tick length in World.Dt and a seeded random source in World.Rng.
package game
