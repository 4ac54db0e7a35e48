// Package game owns the rules API that game developers implement, the entity
// model, the world's spatial grid (Grid), the mode registry with each mode's
// options, and the built-in modes (arena, tag and the team mode ctf), with
// the shooting that arena and ctf share (Guns).
//
// A mode is a Mode: a Spec that declares its world, its seats, its entity
// schema (with how clients draw each kind), its actions, events and teams
// once, and Rules that join and leave players, validate and apply their
// inputs, step the world and decide when and how a match ends. A mode
// registers itself from its own file (Register); the server, the clients
// and the bots take modes from the registry (Build, Modes), and clients
// learn everything else from the Spec as the matched message carries it.
// The match package runs Rules on a fixed tick; the netcode package encodes
// the World from the Spec's schema, so a mode writes no network code.
//
// Rules know nothing of sockets, sessions or wall-clock time: they get the
// fixed tick length in World.Dt and a seeded random source in World.Rng.
package game
