package match

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"skirmish/game"
)

// Checkpoint is what a match's host writes to Redis every checkpoint interval.
type Checkpoint struct {
	MatchID, Mode string
	TickRate      uint32
	EndTick       uint32
	Serial        uint64 // the lobby's match serial, for entity ID ranges
	World         game.WorldState
	Rules         []byte      // the rules' AppendState
	Seats         []SeatState // one per seat of the mode (len = MaxPlayers); a free seat has PlayerID ""
}

// SeatState is one seat of a Checkpoint.
type SeatState struct {
	PlayerID, Name, Key string
	Entity              uint32
	Score               int32
	Ack                 uint32 // last input seq applied (every seq <= Ack is settled)
	Away                bool
}

// CheckpointVersion is the first element of an encoded Checkpoint.
const CheckpointVersion = 1

// Limits of a decoded checkpoint. DecodeCheckpoint also bounds every
// length by the bytes left, so what it allocates is in proportion to its
// input (at most about 8 bytes per input byte, plus reuse).
const (
	maxCPString   = 256
	maxCPSeats    = 256
	maxCPEntities = game.MaxStateEntities
	maxCPFree     = game.MaxStateSlots
	maxCPRules    = 1 << 20
	maxCPRng      = 64
)

// The encoding, msgpack, version 1: one array of 9 elements
//
//	[1, matchID, mode, tickRate, endTick, serial, world, rules (bin), seats]
//	world  = [tick, rng (bin), nextID, slots, [freeSlot...], [entity...]]
//	entity = [id, kind, x, y, [f...], vx, vy, radius, owner, timer, slot]
//	seat   = [playerID, name, key, entity, score, ack, away]
//
// Floats are float32; an entity's fields f leave out trailing zeros.
const (
	cpFields     = 9
	worldFields  = 6
	entityFields = 11
	seatFields   = 7
)

// Each element of these arrays takes at least this many bytes, which
// bounds an array's length by the bytes left before anything is allocated.
const (
	minEntityBytes = 1 + entityFields
	minSeatBytes   = 1 + seatFields
)

// AppendCheckpoint appends cp, encoded with msgpack, to dst and returns
// it. It allocates nothing when dst has room. It does not check cp against
// the limits DecodeCheckpoint enforces (strings of 256 bytes, 256 seats,
// 65536 entities, 1<<20 free slots, 1 MiB of rule state, 64 bytes of
// random state).
//
// The bytes are exactly those that msgpack.Encoder's EncodeArrayLen,
// EncodeUint, EncodeInt, EncodeFloat32, EncodeString, EncodeBytes and
// EncodeBool calls write (the tests check it), appended directly: through
// an Encoder (BenchmarkCheckpointEncoder), a checkpoint of a full arena
// costs three to four times as much CPU, all of it in per-value calls.
func AppendCheckpoint(dst []byte, cp *Checkpoint) []byte {
	ws := &cp.World
	// At most this much: one growth at most.
	size := 64 + len(cp.MatchID) + len(cp.Mode) + len(ws.Rng) + len(cp.Rules) +
		5*len(ws.FreeSlots) + 100*len(ws.Entities)
	for i := range cp.Seats {
		size += 48 + len(cp.Seats[i].PlayerID) + len(cp.Seats[i].Name) + len(cp.Seats[i].Key)
	}
	dst = slices.Grow(dst, size)
	dst = appendArrayLen(dst, cpFields)
	dst = appendUint(dst, CheckpointVersion)
	dst = appendString(dst, cp.MatchID)
	dst = appendString(dst, cp.Mode)
	dst = appendUint(dst, uint64(cp.TickRate))
	dst = appendUint(dst, uint64(cp.EndTick))
	dst = appendUint(dst, cp.Serial)

	dst = appendArrayLen(dst, worldFields)
	dst = appendUint(dst, ws.Tick)
	dst = appendBytes(dst, ws.Rng)
	dst = appendUint(dst, uint64(ws.NextID))
	dst = appendInt(dst, int64(ws.Slots))
	dst = appendArrayLen(dst, len(ws.FreeSlots))
	for _, s := range ws.FreeSlots {
		dst = appendInt(dst, int64(s))
	}
	dst = appendArrayLen(dst, len(ws.Entities))
	for i := range ws.Entities {
		dst = appendEntity(dst, &ws.Entities[i])
	}

	dst = appendBytes(dst, cp.Rules)

	dst = appendArrayLen(dst, len(cp.Seats))
	for i := range cp.Seats {
		s := &cp.Seats[i]
		dst = appendArrayLen(dst, seatFields)
		dst = appendString(dst, s.PlayerID)
		dst = appendString(dst, s.Name)
		dst = appendString(dst, s.Key)
		dst = appendUint(dst, uint64(s.Entity))
		dst = appendInt(dst, int64(s.Score))
		dst = appendUint(dst, uint64(s.Ack))
		dst = appendBool(dst, s.Away)
	}
	return dst
}

// maxEntityBytes is the most an encoded entity takes: the array header, id
// (5), kind (2), x and y (10), the fields (1+5·8), vx, vy, radius (15),
// owner (9), timer (5) and slot (9).
const maxEntityBytes = 1 + 5 + 2 + 10 + 1 + 5*8 + 15 + 9 + 5 + 9

// appendEntity appends e's array; it writes in place, the hot loop of a
// checkpoint.
func appendEntity(dst []byte, e *game.Entity) []byte {
	n := len(dst)
	dst = slices.Grow(dst, maxEntityBytes)[:n+maxEntityBytes]
	b := dst[n:]
	b[0] = msgpcode.FixedArrayLow | entityFields
	i := 1
	i += putUint(b[i:], uint64(e.ID))
	i += putUint(b[i:], uint64(e.Kind))
	i += putFloat32(b[i:], e.X)
	i += putFloat32(b[i:], e.Y)
	nf := len(e.F)
	for nf > 0 && math.Float32bits(e.F[nf-1]) == 0 {
		nf--
	}
	b[i] = msgpcode.FixedArrayLow | byte(nf)
	i++
	for _, f := range e.F[:nf] {
		i += putFloat32(b[i:], f)
	}
	i += putFloat32(b[i:], e.VX)
	i += putFloat32(b[i:], e.VY)
	i += putFloat32(b[i:], e.Radius)
	i += putInt(b[i:], int64(e.Owner))
	i += putFloat32(b[i:], e.Timer)
	i += putInt(b[i:], int64(e.Slot))
	return dst[:n+i]
}

// The msgpack appenders below choose the encodings msgpack.Encoder does.
// The put functions write into b, which has room for 9 bytes, and return
// how many they wrote.

func appendArrayLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, msgpcode.FixedArrayLow|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, msgpcode.Array16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, msgpcode.Array32), uint32(n))
}

func appendUint(b []byte, v uint64) []byte {
	n := len(b)
	b = slices.Grow(b, 9)[:n+9]
	return b[:n+putUint(b[n:], v)]
}

func appendInt(b []byte, v int64) []byte {
	n := len(b)
	b = slices.Grow(b, 9)[:n+9]
	return b[:n+putInt(b[n:], v)]
}

func putUint(b []byte, v uint64) int {
	_ = b[8]
	switch {
	case v <= math.MaxInt8:
		b[0] = byte(v)
		return 1
	case v <= math.MaxUint8:
		b[0], b[1] = msgpcode.Uint8, byte(v)
		return 2
	case v <= math.MaxUint16:
		b[0] = msgpcode.Uint16
		binary.BigEndian.PutUint16(b[1:], uint16(v))
		return 3
	case v <= math.MaxUint32:
		b[0] = msgpcode.Uint32
		binary.BigEndian.PutUint32(b[1:], uint32(v))
		return 5
	}
	b[0] = msgpcode.Uint64
	binary.BigEndian.PutUint64(b[1:], v)
	return 9
}

func putInt(b []byte, v int64) int {
	_ = b[8]
	switch {
	case v >= 0:
		return putUint(b, uint64(v))
	case v >= -32:
		b[0] = byte(v)
		return 1
	case v >= math.MinInt8:
		b[0], b[1] = msgpcode.Int8, byte(v)
		return 2
	case v >= math.MinInt16:
		b[0] = msgpcode.Int16
		binary.BigEndian.PutUint16(b[1:], uint16(v))
		return 3
	case v >= math.MinInt32:
		b[0] = msgpcode.Int32
		binary.BigEndian.PutUint32(b[1:], uint32(v))
		return 5
	}
	b[0] = msgpcode.Int64
	binary.BigEndian.PutUint64(b[1:], uint64(v))
	return 9
}

func putFloat32(b []byte, f float32) int {
	_ = b[4]
	b[0] = msgpcode.Float
	binary.BigEndian.PutUint32(b[1:], math.Float32bits(f))
	return 5
}

func appendString(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, msgpcode.FixedStrLow|byte(n))
	case n <= math.MaxUint8:
		b = append(b, msgpcode.Str8, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, msgpcode.Str16), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, msgpcode.Str32), uint32(n))
	}
	return append(b, s...)
}

func appendBytes(b, p []byte) []byte {
	switch n := len(p); {
	case p == nil:
		return append(b, msgpcode.Nil)
	case n <= math.MaxUint8:
		b = append(b, msgpcode.Bin8, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, msgpcode.Bin16), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, msgpcode.Bin32), uint32(n))
	}
	return append(b, p...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, msgpcode.True)
	}
	return append(b, msgpcode.False)
}

// cpDecoder reads one checkpoint. Its first error sticks: every later read
// returns a zero value, so the decoding code checks err once per loop.
type cpDecoder struct {
	r       bytes.Reader
	d       *msgpack.Decoder
	err     error
	scratch [maxCPString]byte
}

func newCPDecoder() *cpDecoder {
	c := new(cpDecoder)
	c.d = msgpack.NewDecoder(&c.r) // a bytes.Reader: no buffering
	return c
}

var cpDecoders = sync.Pool{New: func() any { return newCPDecoder() }}

// DecodeCheckpoint decodes b, as AppendCheckpoint encodes it, into cp,
// reusing cp's slices (and its strings when unchanged). Every length in b
// is checked against a limit and against the bytes left before anything
// is allocated, so hostile input costs memory in proportion to its size.
// On an error, cp holds a part of b's contents. The world's consistency is
// RestoreWorld's to check, the rules' state ResumeRules's.
func DecodeCheckpoint(b []byte, cp *Checkpoint) error {
	c := cpDecoders.Get().(*cpDecoder)
	err := c.decodeAll(b, cp)
	cpDecoders.Put(c)
	return err
}

// decodeAll is DecodeCheckpoint with decoder c.
func (c *cpDecoder) decodeAll(b []byte, cp *Checkpoint) error {
	c.r.Reset(b)
	c.err = nil
	c.decode(cp)
	if c.err == nil && c.r.Len() != 0 {
		c.err = fmt.Errorf("checkpoint: %d bytes after its end", c.r.Len())
	}
	err := c.err
	c.r.Reset(nil)
	c.err = nil
	return err
}

func (c *cpDecoder) decode(cp *Checkpoint) {
	n := c.arrayLen(cpFields, 1)
	if v := c.uint(math.MaxUint64); c.err == nil && v != CheckpointVersion {
		c.fail(fmt.Errorf("checkpoint: version %d", v))
	}
	if c.err == nil && n != cpFields {
		c.fail(fmt.Errorf("checkpoint: %d fields", n))
	}
	cp.MatchID = c.str(cp.MatchID)
	cp.Mode = c.str(cp.Mode)
	cp.TickRate = uint32(c.uint(math.MaxUint32))
	cp.EndTick = uint32(c.uint(math.MaxUint32))
	cp.Serial = c.uint(math.MaxUint64)

	ws := &cp.World
	if n := c.arrayLen(worldFields, 1); c.err == nil && n != worldFields {
		c.fail(fmt.Errorf("checkpoint: world of %d fields", n))
	}
	ws.Tick = c.uint(math.MaxUint64)
	ws.Rng = c.bytes(ws.Rng, maxCPRng)
	ws.NextID = uint32(c.uint(math.MaxUint32))
	ws.Slots = int32(c.int(0, maxCPFree))
	n = c.arrayLen(maxCPFree, 1)
	ws.FreeSlots = grow(ws.FreeSlots, n)
	for i := range ws.FreeSlots {
		ws.FreeSlots[i] = int32(c.int(0, maxCPFree))
	}
	n = c.arrayLen(maxCPEntities, minEntityBytes)
	ws.Entities = grow(ws.Entities, n)
	for i := range ws.Entities {
		if c.err != nil {
			break
		}
		c.entity(&ws.Entities[i])
	}

	cp.Rules = c.bytes(cp.Rules, maxCPRules)

	n = c.arrayLen(maxCPSeats, minSeatBytes)
	cp.Seats = grow(cp.Seats, n)
	for i := range cp.Seats {
		if c.err != nil {
			break
		}
		s := &cp.Seats[i]
		if n := c.arrayLen(seatFields, 1); c.err == nil && n != seatFields {
			c.fail(fmt.Errorf("checkpoint: seat of %d fields", n))
		}
		s.PlayerID = c.str(s.PlayerID)
		s.Name = c.str(s.Name)
		s.Key = c.str(s.Key)
		s.Entity = uint32(c.uint(math.MaxUint32))
		s.Score = int32(c.int(math.MinInt32, math.MaxInt32))
		s.Ack = uint32(c.uint(math.MaxUint32))
		s.Away = c.bool()
	}
}

func (c *cpDecoder) entity(e *game.Entity) {
	*e = game.Entity{}
	if n := c.arrayLen(entityFields, 1); c.err == nil && n != entityFields {
		c.fail(fmt.Errorf("checkpoint: entity of %d fields", n))
	}
	e.ID = uint32(c.uint(math.MaxUint32))
	e.Kind = uint8(c.uint(math.MaxUint8))
	e.X = c.float()
	e.Y = c.float()
	n := c.arrayLen(len(e.F), 1)
	for i := range n {
		e.F[i] = c.float()
	}
	e.VX = c.float()
	e.VY = c.float()
	e.Radius = c.float()
	e.Owner = int(c.int(-1, maxCPSeats))
	e.Timer = c.float()
	e.Slot = int32(c.int(0, maxCPFree))
}

func (c *cpDecoder) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

var errCPTruncated = errors.New("checkpoint: a length beyond the bytes left")

// arrayLen reads an array header of at most limit elements, each taking at
// least minBytes of what is left.
func (c *cpDecoder) arrayLen(limit, minBytes int) int {
	if c.err != nil {
		return 0
	}
	n, err := c.d.DecodeArrayLen()
	switch {
	case err != nil:
		c.fail(fmt.Errorf("checkpoint: %w", err))
	case n < 0 || n > limit:
		c.fail(fmt.Errorf("checkpoint: array of %d elements (at most %d)", n, limit))
	case n*minBytes > c.r.Len():
		c.fail(errCPTruncated)
	default:
		return n
	}
	return 0
}

func (c *cpDecoder) uint(limit uint64) uint64 {
	if c.err != nil {
		return 0
	}
	v, err := c.d.DecodeUint64()
	if err != nil {
		c.fail(fmt.Errorf("checkpoint: %w", err))
		return 0
	}
	if v > limit {
		c.fail(fmt.Errorf("checkpoint: %d beyond %d", v, limit))
		return 0
	}
	return v
}

func (c *cpDecoder) int(lo, hi int64) int64 {
	if c.err != nil {
		return 0
	}
	v, err := c.d.DecodeInt64()
	if err != nil {
		c.fail(fmt.Errorf("checkpoint: %w", err))
		return 0
	}
	if v < lo || v > hi {
		c.fail(fmt.Errorf("checkpoint: %d not in [%d, %d]", v, lo, hi))
		return 0
	}
	return v
}

func (c *cpDecoder) float() float32 {
	if c.err != nil {
		return 0
	}
	v, err := c.d.DecodeFloat32()
	if err != nil {
		c.fail(fmt.Errorf("checkpoint: %w", err))
	}
	return v
}

func (c *cpDecoder) bool() bool {
	if c.err != nil {
		return false
	}
	v, err := c.d.DecodeBool()
	if err != nil {
		c.fail(fmt.Errorf("checkpoint: %w", err))
	}
	return v
}

// payloadLen reads a str or bin header and checks its length against limit
// and the bytes left; nil is an empty payload.
func (c *cpDecoder) payloadLen(limit int) int {
	if c.err != nil {
		return 0
	}
	n, err := c.d.DecodeBytesLen()
	switch {
	case err != nil:
		c.fail(fmt.Errorf("checkpoint: %w", err))
	case n > limit:
		c.fail(fmt.Errorf("checkpoint: %d bytes (at most %d)", n, limit))
	case n > c.r.Len():
		c.fail(errCPTruncated)
	case n > 0:
		return n
	}
	return 0
}

// str reads a string; it returns old (no allocation) if it is the same.
func (c *cpDecoder) str(old string) string {
	n := c.payloadLen(maxCPString)
	if n == 0 {
		return ""
	}
	b := c.scratch[:n]
	if err := c.d.ReadFull(b); err != nil {
		c.fail(fmt.Errorf("checkpoint: %w", err))
		return ""
	}
	if string(b) == old {
		return old
	}
	return string(b)
}

// bytes reads a bin (or str) payload into dst's array if it has room.
func (c *cpDecoder) bytes(dst []byte, limit int) []byte {
	n := c.payloadLen(limit)
	dst = grow(dst, n)
	if n > 0 {
		if err := c.d.ReadFull(dst); err != nil {
			c.fail(fmt.Errorf("checkpoint: %w", err))
		}
	}
	return dst
}

// grow returns s with length n, reusing its array if it has room.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
