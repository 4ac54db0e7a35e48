package netcode

import (
	"bytes"
	"errors"
	"io"
	"math"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// ErrMalformed is wrapped by every decoding error: the frame is not a valid
// message of this protocol. Its text is for logs, never for the peer.
var ErrMalformed = errors.New("netcode: malformed frame")

// frameError is a decoding error with a fixed description; it allocates
// nothing when returned.
type frameError string

func (e frameError) Error() string { return "netcode: malformed frame: " + string(e) }
func (e frameError) Unwrap() error { return ErrMalformed }

const (
	errTooLong   = frameError("length over limit")
	errTruncated = frameError("length beyond the frame")
	errRange     = frameError("value out of range")
	errNotFinite = frameError("float not finite")
	errType      = frameError("unexpected value type")
	errNil       = frameError("nil where a value is required")
	errTrailing  = frameError("bytes after the message")
	errUnknown   = frameError("unknown message type")
	errTooDeep   = frameError("too many trailing elements")
)

// Reader decodes MessagePack values from one frame by hand, with every
// length bounded by a caller's limit and by the bytes left in the frame, so
// no claim in the frame makes it allocate. It wraps msgpack's low-level
// Decoder calls and never uses reflection. A Reader is reused across frames
// (Reset) and is not safe for concurrent use.
type Reader struct {
	br    bytes.Reader
	d     *msgpack.Decoder
	frame []byte
}

// NewReader returns a Reader ready for Reset.
func NewReader() *Reader {
	r := &Reader{}
	r.d = msgpack.NewDecoder(&r.br)
	return r
}

// Reset makes r read frame. r keeps a reference to frame until the next Reset.
func (r *Reader) Reset(frame []byte) {
	r.frame = frame
	r.br.Reset(frame)
	r.d.ResetReader(&r.br)
}

// pos is the offset of the next byte to read in the frame.
func (r *Reader) pos() int { return len(r.frame) - r.br.Len() }

// header starts decoding frame: a message is an array of at most max
// elements whose first is the message type. It returns the array's length.
func (r *Reader) header(frame []byte, max int) (int, uint8, error) {
	r.Reset(frame)
	n, err := r.ArrayLen(max)
	if err != nil {
		return 0, 0, err
	}
	if n < 1 {
		return 0, 0, errTruncated
	}
	t, err := r.Uint(math.MaxUint8)
	return n, uint8(t), err
}

// ArrayLen reads an array header and returns its length, which is at most
// max and at most the bytes left (every element takes at least one byte).
func (r *Reader) ArrayLen(max int) (int, error) {
	n, err := r.d.DecodeArrayLen()
	if err != nil {
		return 0, errType
	}
	if n < 0 {
		return 0, errNil
	}
	if n > max {
		return 0, errTooLong
	}
	if n > r.br.Len() {
		return 0, errTruncated
	}
	return n, nil
}

// Uint reads a non-negative integer no greater than max.
func (r *Reader) Uint(max uint64) (uint64, error) {
	c, err := r.d.PeekCode()
	if err != nil {
		return 0, errTruncated
	}
	if !isInt(c) {
		return 0, errType
	}
	v, err := r.d.DecodeInt64()
	if err != nil {
		// A uint64 above MaxInt64 is out of every range we accept.
		return 0, errRange
	}
	if v < 0 || uint64(v) > max {
		return 0, errRange
	}
	return uint64(v), nil
}

// Int reads an integer between min and max.
func (r *Reader) Int(min, max int64) (int64, error) {
	c, err := r.d.PeekCode()
	if err != nil {
		return 0, errTruncated
	}
	if !isInt(c) {
		return 0, errType
	}
	v, err := r.d.DecodeInt64()
	if err != nil || v < min || v > max {
		return 0, errRange
	}
	return v, nil
}

// Float reads a finite number in any MessagePack numeric format.
func (r *Reader) Float() (float64, error) {
	c, err := r.d.PeekCode()
	if err != nil {
		return 0, errTruncated
	}
	if !isInt(c) && c != msgpcode.Float && c != msgpcode.Double {
		return 0, errType
	}
	v, err := r.d.DecodeFloat64()
	if err != nil {
		return 0, errType
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errNotFinite
	}
	return v, nil
}

// Bool reads a boolean.
func (r *Reader) Bool() (bool, error) {
	c, err := r.d.PeekCode()
	if err != nil {
		return false, errTruncated
	}
	if c != msgpcode.True && c != msgpcode.False {
		return false, errType
	}
	return r.d.DecodeBool()
}

// StringBytes reads a string of at most len(buf) bytes into buf and returns
// the filled part. It never allocates.
func (r *Reader) StringBytes(buf []byte) ([]byte, error) {
	c, err := r.d.PeekCode()
	if err != nil {
		return nil, errTruncated
	}
	if !msgpcode.IsString(c) {
		return nil, errType
	}
	n, err := r.d.DecodeBytesLen()
	if err != nil {
		return nil, errType
	}
	if n > len(buf) {
		return nil, errTooLong
	}
	if n > r.br.Len() {
		return nil, errTruncated
	}
	if err := r.d.ReadFull(buf[:n]); err != nil {
		return nil, errTruncated
	}
	return buf[:n], nil
}

// String reads a string of at most max bytes (max ≤ 256).
func (r *Reader) String(max int) (string, error) {
	var buf [256]byte
	b, err := r.StringBytes(buf[:min(max, len(buf))])
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// SkipRest skips the n trailing elements of an array that this version does
// not know (later versions append fields). Each element is one value of any
// type, nested at most maxSkipDepth deep; no length it claims is allocated.
func (r *Reader) SkipRest(n int) error {
	if n > 64 {
		return errTooDeep
	}
	for ; n > 0; n-- {
		if err := r.skip(0); err != nil {
			return err
		}
	}
	return nil
}

const maxSkipDepth = 8

// skip skips one value by reading its MessagePack header itself: msgpack's
// own Skip allocates the bytes a str, bin or ext header claims (up to 1 MiB).
func (r *Reader) skip(depth int) error {
	if depth > maxSkipDepth {
		return errTooDeep
	}
	c, err := r.br.ReadByte()
	if err != nil {
		return errTruncated
	}
	var (
		bytes    int // payload bytes to skip
		lenBytes int // size of a big-endian length that follows
		elems    int // nested values to skip
		extra    int // bytes after the length (an ext's type)
	)
	switch {
	case c <= 0x7f || c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		return nil
	case c&0xf0 == 0x80:
		elems = 2 * int(c&0x0f)
	case c&0xf0 == 0x90:
		elems = int(c & 0x0f)
	case c&0xe0 == 0xa0:
		bytes = int(c & 0x1f)
	case c == 0xcc || c == 0xd0:
		bytes = 1
	case c == 0xcd || c == 0xd1:
		bytes = 2
	case c == 0xca || c == 0xce || c == 0xd2:
		bytes = 4
	case c == 0xcb || c == 0xcf || c == 0xd3:
		bytes = 8
	case c >= 0xd4 && c <= 0xd8: // fixext 1, 2, 4, 8, 16
		bytes = 1 + 1<<(c-0xd4)
	case c == 0xc4 || c == 0xd9:
		lenBytes = 1
	case c == 0xc5 || c == 0xda:
		lenBytes = 2
	case c == 0xc6 || c == 0xdb:
		lenBytes = 4
	case c == 0xc7, c == 0xc8, c == 0xc9: // ext 8, 16, 32
		lenBytes, extra = 1<<(c-0xc7), 1
	case c == 0xdc || c == 0xde:
		lenBytes = 2
	case c == 0xdd || c == 0xdf:
		lenBytes = 4
	default: // 0xc1 is never used
		return errType
	}
	if lenBytes > 0 {
		var l int
		for range lenBytes {
			b, err := r.br.ReadByte()
			if err != nil {
				return errTruncated
			}
			l = l<<8 | int(b)
		}
		switch c {
		case 0xdc, 0xdd:
			elems = l
		case 0xde, 0xdf:
			elems = 2 * l
		default:
			bytes = l + extra
		}
	}
	if bytes > r.br.Len() || elems > r.br.Len() {
		return errTruncated
	}
	if bytes > 0 {
		if _, err := r.br.Seek(int64(bytes), io.SeekCurrent); err != nil {
			return errTruncated
		}
	}
	for ; elems > 0; elems-- {
		if err := r.skip(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// End checks that the whole frame was read.
func (r *Reader) End() error {
	if r.br.Len() != 0 {
		return errTrailing
	}
	return nil
}

func isInt(c byte) bool {
	if msgpcode.IsFixedNum(c) {
		return true
	}
	switch c {
	case msgpcode.Uint8, msgpcode.Uint16, msgpcode.Uint32, msgpcode.Uint64,
		msgpcode.Int8, msgpcode.Int16, msgpcode.Int32, msgpcode.Int64:
		return true
	}
	return false
}

// dec reads the values of one message through a Reader and keeps the first
// error: after it, every read returns a zero value and reads nothing, so a
// decoder reads a message's values one after the other and checks err
// once. Every limit is the Reader's, as with direct calls. A loop over a
// decoded length checks ok, so that a failed read ends it (a length is
// bounded by the bytes left, but a failed loop must not run on). A dec
// lives on its decoder's stack.
type dec struct {
	r   *Reader
	err error
}

// ok reports whether every read so far succeeded.
func (d *dec) ok() bool { return d.err == nil }

// fail records err unless an error came first.
func (d *dec) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// arrayLen is Reader.ArrayLen.
func (d *dec) arrayLen(max int) int {
	if d.err != nil {
		return 0
	}
	n, err := d.r.ArrayLen(max)
	d.err = err
	return n
}

// tuple reads the header of a fixed-size array of exactly n elements.
func (d *dec) tuple(n int) {
	if l := d.arrayLen(n); d.err == nil && l != n {
		d.err = errTruncated
	}
}

// uint is Reader.Uint.
func (d *dec) uint(max uint64) uint64 {
	if d.err != nil {
		return 0
	}
	v, err := d.r.Uint(max)
	d.err = err
	return v
}

func (d *dec) u8() uint8   { return uint8(d.uint(math.MaxUint8)) }
func (d *dec) u16() uint16 { return uint16(d.uint(math.MaxUint16)) }
func (d *dec) u32() uint32 { return uint32(d.uint(math.MaxUint32)) }

// int is Reader.Int.
func (d *dec) int(min, max int64) int64 {
	if d.err != nil {
		return 0
	}
	v, err := d.r.Int(min, max)
	d.err = err
	return v
}

func (d *dec) i32() int32 { return int32(d.int(math.MinInt32, math.MaxInt32)) }

// float is Reader.Float.
func (d *dec) float() float64 {
	if d.err != nil {
		return 0
	}
	v, err := d.r.Float()
	d.err = err
	return v
}

// float32 reads a finite float that fits a float32.
func (d *dec) float32() float32 {
	f := d.float()
	if d.ok() && (f > math.MaxFloat32 || f < -math.MaxFloat32 || f != f) {
		d.fail(errRange)
	}
	return float32(f)
}

// bool is Reader.Bool.
func (d *dec) bool() bool {
	if d.err != nil {
		return false
	}
	v, err := d.r.Bool()
	d.err = err
	return v
}

// string is Reader.String.
func (d *dec) string(max int) string {
	if d.err != nil {
		return ""
	}
	v, err := d.r.String(max)
	d.err = err
	return v
}

// stringBytes is Reader.StringBytes.
func (d *dec) stringBytes(buf []byte) []byte {
	if d.err != nil {
		return nil
	}
	v, err := d.r.StringBytes(buf)
	d.err = err
	return v
}

// skipRest is Reader.SkipRest.
func (d *dec) skipRest(n int) {
	if d.err == nil {
		d.err = d.r.SkipRest(n)
	}
}
