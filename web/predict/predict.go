// Command predict is the browser client's predictor: the modes' own Go
// movement code (package game) compiled to WebAssembly with the standard
// toolchain (GOOS=js GOARCH=wasm; `make wasm` writes
// web/static/wasm/predict.wasm). The page runs its own avatar's inputs
// through it, so that its prediction is the server's arithmetic, bit for
// bit, for any mode. main_js.go exposes it to JavaScript as the global
// skirmishPredict (see there); this file is the logic, which the native
// test (predict_test.go) also runs.
package main

import (
	"errors"
	"math"

	"skirmish/game"
	"skirmish/netcode"
)

// predictor holds one match's movement parameters, as matched gives them
// (the mode's name, the avatar's speed, the tick rate and the world's
// bounds).
type predictor struct {
	spec          *game.Spec // the mode's spec in this build, nil if unknown
	speed, dt     float32
	width, height float32
}

// params is what configure takes.
type params struct {
	Mode          string
	Speed         float64
	TickRate      int
	Width, Height float64
}

// newPredictor checks p and returns its predictor. dt is 1/tickRate in
// float32, as the server's World.Dt.
func newPredictor(p params) (*predictor, error) {
	if p.TickRate <= 0 || p.TickRate > 1000 {
		return nil, errors.New("tickRate out of range")
	}
	for _, v := range []float64{p.Speed, p.Width, p.Height} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > math.MaxFloat32 {
			return nil, errors.New("speed or world size out of range")
		}
	}
	return &predictor{
		spec:   game.BuiltinSpec(p.Mode),
		speed:  float32(p.Speed),
		dt:     1 / float32(p.TickRate),
		width:  float32(p.Width),
		height: float32(p.Height),
	}, nil
}

// step is one tick's input (mx, my) applied to an avatar at (x, y): the
// server's game.Move.
func (p *predictor) step(x, y, mx, my float32) (float32, float32) {
	return game.Move(x, y, mx, my, p.speed, p.dt, p.width, p.height)
}

// canMove reports whether inputs move an avatar of kind with fields (the
// mode's Spec.CanMove; true for a mode this build does not know).
func (p *predictor) canMove(kind uint8, fields []float32) bool {
	if p.spec == nil {
		return true
	}
	e := netcode.Entity{Kind: kind}
	copy(e.F[:], fields)
	return p.spec.CanMove(&e)
}
