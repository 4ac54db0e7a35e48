package netcode

import "math"

// MaxFields is the most extra fields an entity may have.
const MaxFields = 8

// Field describes one extra numeric field of every entity of a mode. On the
// wire the field travels as the integer round(value × Scale); Scale itself
// travels as a float (0.5: steps of 2 units).
type Field struct {
	Name  string
	Scale float32
}

// Schema is what a game mode declares once about its entities so that the
// netcode can encode them without any code from the mode.
type Schema struct {
	// PosScale is the number of quantization steps per world unit of X and Y
	// (arena: 8, that is 1/8 unit).
	PosScale float32
	// Kinds declares the entity kinds, with how clients draw them; an
	// entity's Kind indexes it.
	Kinds []Kind
	// Fields are the extra fields every entity carries, at most MaxFields.
	Fields []Field
}

// Entity is the part of an entity the wire sees.
type Entity struct {
	ID   uint32
	Kind uint8
	X, Y float32
	F    [MaxFields]float32
}

// Quantize returns v in steps of 1/scale, as sent on the wire.
func Quantize(v, scale float32) int64 {
	return int64(math.Round(float64(v) * float64(scale)))
}

// Dequantize is the inverse of Quantize.
func Dequantize(q int64, scale float32) float32 {
	return float32(float64(q) / float64(scale))
}

// Quantized returns e as a client sees it after a round trip through the
// wire: every value rounded to its schema's precision.
func (s *Schema) Quantized(e Entity) Entity {
	e.X = Dequantize(Quantize(e.X, s.PosScale), s.PosScale)
	e.Y = Dequantize(Quantize(e.Y, s.PosScale), s.PosScale)
	for i, f := range s.Fields {
		e.F[i] = Dequantize(Quantize(e.F[i], f.Scale), f.Scale)
	}
	return e
}

// Validate reports whether the schema can be encoded: a positive finite
// PosScale, 1 to MaxKinds named kinds whose label and team are fields of
// the schema (or LabelNone, LabelOwner, -1), at most MaxFields named
// fields with positive finite scales.
func (s *Schema) Validate() error {
	if !positive(s.PosScale) || len(s.Fields) > MaxFields || len(s.Kinds) == 0 || len(s.Kinds) > MaxKinds {
		return errRange
	}
	for _, f := range s.Fields {
		if !positive(f.Scale) || !validName(f.Name) {
			return errRange
		}
	}
	nf := int8(len(s.Fields))
	for _, k := range s.Kinds {
		if !validName(k.Name) || len(k.Shape) > maxStrServer || len(k.Color) > maxStrServer ||
			!finite32(k.Size) || k.Size < 0 || k.Label < LabelOwner || k.Label >= nf || k.Team < -1 || k.Team >= nf {
			return errRange
		}
		if k.MeterMax != 0 && (!positive(k.MeterMax) || k.Meter < 0 || k.Meter >= nf) {
			return errRange
		}
	}
	return nil
}
