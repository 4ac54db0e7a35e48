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

// predictor holds one match's movement parameters, as matched declares
// them (protocol 3): the avatar's speed, the tick rate, the world's bounds
// and the immobility rule. It needs nothing of the mode but those, so it
// predicts any mode, even one this build does not know.
type predictor struct {
	immobile      *netcode.Immobile // nil: inputs always move the avatar
	speed, dt     float32
	width, height float32
}

// params is what configure takes. Immobile is matched's info.immobile:
// empty, or [field, min, max].
type params struct {
	Mode          string
	Speed         float64
	TickRate      int
	Width, Height float64
	Immobile      []float64
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
	var im *netcode.Immobile
	switch len(p.Immobile) {
	case 0:
	case 3:
		f := p.Immobile[0]
		if !(f >= 0 && f < netcode.MaxFields) || f != math.Trunc(f) || math.IsNaN(p.Immobile[1]) || math.IsNaN(p.Immobile[2]) {
			return nil, errors.New("immobile out of range")
		}
		im = &netcode.Immobile{Field: uint8(f), Min: float32(p.Immobile[1]), Max: float32(p.Immobile[2])}
	default:
		return nil, errors.New("immobile is [] or [field, min, max]")
	}
	return &predictor{
		immobile: im,
		speed:    float32(p.Speed),
		dt:       1 / float32(p.TickRate),
		width:    float32(p.Width),
		height:   float32(p.Height),
	}, nil
}

// step is one tick's input (mx, my) applied to an avatar at (x, y): the
// server's game.Move.
func (p *predictor) step(x, y, mx, my float32) (float32, float32) {
	return game.Move(x, y, mx, my, p.speed, p.dt, p.width, p.height)
}

// canMove reports whether inputs move an avatar of kind with fields, by
// the declared immobility rule (the server's Spec.CanMove).
func (p *predictor) canMove(kind uint8, fields []float32) bool {
	e := netcode.Entity{Kind: kind}
	copy(e.F[:], fields)
	return !p.immobile.Holds(&e)
}
