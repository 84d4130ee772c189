package credo

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// This file is the deterministic CBOR codec behind CanonicalEncoding
// (docs/event-encoding.md): RFC 8949 §4.2.1 core deterministic encoding
// (shortest arguments, definite lengths, map keys sorted by the bytes of
// their encodings, floats in their shortest exact form), applied by
// reflection to the event structs with the field numbers of fieldNumbers.

// CBOR major types.
const (
	cborUint  = 0 << 5
	cborNeg   = 1 << 5
	cborBytes = 2 << 5
	cborText  = 3 << 5
	cborArray = 4 << 5
	cborMap   = 5 << 5
	cborOther = 7 << 5
)

// appendHead appends a CBOR head of the major type with argument n, in its
// shortest form.
func appendHead(b []byte, major byte, n uint64) []byte {
	switch {
	case n < 24:
		return append(b, major|byte(n))
	case n <= math.MaxUint8:
		return append(b, major|24, byte(n))
	case n <= math.MaxUint16:
		return append(b, major|25, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return append(b, major|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, major|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// appendInt appends a signed integer.
func appendInt(b []byte, n int64) []byte {
	if n >= 0 {
		return appendHead(b, cborUint, uint64(n))
	}
	return appendHead(b, cborNeg, uint64(-1-n))
}

// appendText appends s as a text string. Invalid UTF-8 is replaced, byte
// by byte, with U+FFFD, as encoding/json did (a text string must be UTF-8).
func appendText(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		var sb strings.Builder
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				sb.WriteRune(utf8.RuneError)
			} else {
				sb.WriteString(s[i : i+n])
			}
			i += n
		}
		s = sb.String()
	}
	b = appendHead(b, cborText, uint64(len(s)))
	return append(b, s...)
}

// isLowerHex reports whether s is a non-empty even-length string of
// lowercase hexadecimal digits: what a hex field encodes as bytes.
func isLowerHex(s string) bool {
	if s == "" || len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// appendHexText appends a hex field: its bytes if s is lowercase hex, else
// s as text.
func appendHexText(b []byte, s string) []byte {
	if !isLowerHex(s) {
		return appendText(b, s)
	}
	b = appendHead(b, cborBytes, uint64(len(s)/2))
	n := len(b)
	b = append(b, make([]byte, len(s)/2)...)
	hex.Decode(b[n:], []byte(s))
	return b
}

// appendTime appends an instant: the integer Unix seconds for a whole
// second in UTC; else [seconds, offset] for a whole second at a non-zero
// offset from UTC (seconds east); else [seconds, offset, nanoseconds].
func appendTime(b []byte, t time.Time) []byte {
	_, off := t.Zone()
	sec, nsec := t.Unix(), t.Nanosecond()
	switch {
	case nsec == 0 && off == 0:
		return appendInt(b, sec)
	case nsec == 0:
		b = append(b, cborArray|2)
		return appendInt(appendInt(b, sec), int64(off))
	}
	b = append(b, cborArray|3)
	return appendInt(appendInt(appendInt(b, sec), int64(off)), int64(nsec))
}

// appendFloat appends f in the shortest of the half, single and double
// precision forms that holds it exactly (NaN as the half 0x7e00).
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) {
		return append(b, cborOther|25, 0x7e, 0x00)
	}
	if f32 := float32(f); float64(f32) == f {
		if h, ok := float16(f32); ok {
			return append(b, cborOther|25, byte(h>>8), byte(h))
		}
		u := math.Float32bits(f32)
		return append(b, cborOther|26, byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
	}
	u := math.Float64bits(f)
	return append(b, cborOther|27, byte(u>>56), byte(u>>48), byte(u>>40), byte(u>>32), byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
}

// AppendCanonicalFloat appends f as the canonical encoding writes a
// float (appendFloat), for the hand-written encoders that must produce the
// same bytes (internal/canon). NaN and the infinities are the caller's to
// refuse: the canonical encoding does.
func AppendCanonicalFloat(b []byte, f float64) []byte { return appendFloat(b, f) }

// float16 returns the half-precision bits of f if it holds f exactly.
func float16(f float32) (uint16, bool) {
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int(bits>>23) & 0xff
	mant := bits & 0x7fffff
	switch {
	case exp == 0xff: // infinities (NaN is handled by the caller)
		return sign | 0x7c00, mant == 0
	case exp == 0 && mant == 0:
		return sign, true
	case exp == 0: // a single-precision subnormal is below every half
		return 0, false
	}
	e := exp - 127
	switch {
	case e >= -14 && e <= 15:
		if mant&0x1fff != 0 {
			return 0, false
		}
		return sign | uint16(e+15)<<10 | uint16(mant>>13), true
	case e >= -24 && e < -14:
		full := mant | 1<<23
		s := uint(-e - 1)
		if full&(1<<s-1) != 0 {
			return 0, false
		}
		return sign | uint16(full>>s), true
	}
	return 0, false
}

// fieldCodec is how one struct field is encoded.
type fieldCodec struct {
	index int
	name  string // the JSON name, for errors and as the key of unnumbered fields
	key   []byte // the encoded map key
	num   int    // the field number; 0 for a text key
	hex   bool   // a hex string: encoded as bytes when lowercase hex
	enum  []string
}

// structCodec is how one struct type is encoded: its fields in key order.
type structCodec struct {
	fields []fieldCodec
	byNum  map[uint64]int // field number -> position in fields
	byName map[string]int // text key -> position in fields
}

var (
	structCodecs sync.Map // reflect.Type -> *structCodec
	timeType     = reflect.TypeFor[time.Time]()
)

// codecFor returns the codec of a struct type: its numbered fields (see
// fieldNumbers) with integer keys, every other exported field under its
// JSON name as a text key, except the excluded ones.
func codecFor(t reflect.Type) *structCodec {
	if c, ok := structCodecs.Load(t); ok {
		return c.(*structCodec)
	}
	spec := fieldNumbers[t]
	c := &structCodec{byNum: map[uint64]int{}, byName: map[string]int{}}
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f := fieldCodec{index: i, name: name}
		if n := slices.Index(spec.names, sf.Name); n >= 0 {
			f.num = n + 1
			f.key = appendHead(nil, cborUint, uint64(f.num))
		} else {
			f.key = appendText(nil, name)
		}
		if slices.Contains(spec.skip, sf.Name) {
			continue
		}
		f.hex = slices.Contains(spec.hex, sf.Name)
		if e, ok := spec.enum[sf.Name]; ok {
			f.enum = e
		}
		c.fields = append(c.fields, f)
	}
	slices.SortFunc(c.fields, func(a, b fieldCodec) int { return bytes.Compare(a.key, b.key) })
	for i, f := range c.fields {
		if f.num > 0 {
			c.byNum[uint64(f.num)] = i
		} else {
			c.byName[f.name] = i
		}
	}
	actual, _ := structCodecs.LoadOrStore(t, c)
	return actual.(*structCodec)
}

// isEmpty reports whether a field's value is left out of the encoding:
// the zero value of its type (for an instant, the zero time).
func isEmpty(v reflect.Value) bool {
	if v.Type() == timeType {
		return timeOf(v).IsZero()
	}
	return v.IsZero()
}

// timeOf returns the time.Time v holds, without boxing it when v is
// addressable (every field of an event is).
func timeOf(v reflect.Value) time.Time {
	if v.CanAddr() {
		return *v.Addr().Interface().(*time.Time)
	}
	return v.Interface().(time.Time)
}

// appendValue appends the deterministic encoding of v; f is the field it
// is the value of, if any.
func appendValue(b []byte, v reflect.Value, f *fieldCodec) ([]byte, error) {
	t := v.Type()
	if t == timeType {
		return appendTime(b, timeOf(v)), nil
	}
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			return append(b, cborOther|21), nil
		}
		return append(b, cborOther|20), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return appendInt(b, v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return appendHead(b, cborUint, v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%v cannot be encoded", f) // as with JSON
		}
		return appendFloat(b, v.Float()), nil
	case reflect.String:
		s := v.String()
		if f != nil && f.enum != nil {
			if i := slices.Index(f.enum, s); i >= 0 {
				return appendHead(b, cborUint, uint64(i)), nil
			}
		}
		if f != nil && f.hex {
			return appendHexText(b, s), nil
		}
		return appendText(b, s), nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			n := v.Len()
			b = appendHead(b, cborBytes, uint64(n))
			if v.Kind() == reflect.Slice {
				return append(b, v.Bytes()...), nil
			}
			for i := range n {
				b = append(b, byte(v.Index(i).Uint()))
			}
			return b, nil
		}
		b = appendHead(b, cborArray, uint64(v.Len()))
		var err error
		for i := range v.Len() {
			if b, err = appendValue(b, v.Index(i), nil); err != nil {
				return nil, err
			}
		}
		return b, nil
	case reflect.Pointer:
		if v.IsNil() {
			return append(b, cborOther|22), nil
		}
		return appendValue(b, v.Elem(), f)
	case reflect.Struct:
		return appendStruct(b, v)
	case reflect.Map:
		return appendMap(b, v)
	}
	return nil, fmt.Errorf("a %s cannot be encoded", t)
}

// appendStruct appends a struct as a map of its non-empty fields.
func appendStruct(b []byte, v reflect.Value) ([]byte, error) {
	c := codecFor(v.Type())
	n := 0
	for i := range c.fields {
		if !isEmpty(v.Field(c.fields[i].index)) {
			n++
		}
	}
	b = appendHead(b, cborMap, uint64(n))
	var err error
	for i := range c.fields {
		f := &c.fields[i]
		fv := v.Field(f.index)
		if isEmpty(fv) {
			continue
		}
		b = append(b, f.key...)
		if b, err = appendValue(b, fv, f); err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return b, nil
}

// appendMap appends a map with its entries sorted by their encoded keys.
func appendMap(b []byte, v reflect.Value) ([]byte, error) {
	type entry struct{ k, v []byte }
	es := make([]entry, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		k, err := appendValue(nil, it.Key(), nil)
		if err != nil {
			return nil, err
		}
		val, err := appendValue(nil, it.Value(), nil)
		if err != nil {
			return nil, err
		}
		es = append(es, entry{k, val})
	}
	slices.SortFunc(es, func(a, b entry) int { return bytes.Compare(a.k, b.k) })
	b = appendHead(b, cborMap, uint64(len(es)))
	for _, e := range es {
		b = append(append(b, e.k...), e.v...)
	}
	return b, nil
}

// cborDecoder reads one encoding.
type cborDecoder struct {
	b []byte
	i int
}

var errTruncated = errors.New("truncated")

// head reads a head: major type, additional information and argument.
func (d *cborDecoder) head() (major byte, ai byte, arg uint64, err error) {
	if d.i >= len(d.b) {
		return 0, 0, 0, errTruncated
	}
	c := d.b[d.i]
	d.i++
	major, ai = c&0xe0, c&0x1f
	var n int
	switch {
	case ai < 24:
		return major, ai, uint64(ai), nil
	case ai <= 27:
		n = 1 << (ai - 24)
	default:
		return 0, 0, 0, fmt.Errorf("indefinite or reserved length at byte %d", d.i-1)
	}
	if d.i+n > len(d.b) {
		return 0, 0, 0, errTruncated
	}
	for _, x := range d.b[d.i : d.i+n] {
		arg = arg<<8 | uint64(x)
	}
	d.i += n
	return major, ai, arg, nil
}

// int reads an integer.
func (d *cborDecoder) int() (int64, error) {
	major, _, arg, err := d.head()
	if err != nil {
		return 0, err
	}
	if arg > math.MaxInt64 {
		return 0, errors.New("integer out of range")
	}
	switch major {
	case cborUint:
		return int64(arg), nil
	case cborNeg:
		return -1 - int64(arg), nil
	}
	return 0, fmt.Errorf("not an integer (major type %d)", major>>5)
}

// content reads the arg bytes of a byte or text string.
func (d *cborDecoder) content(arg uint64) ([]byte, error) {
	if arg > uint64(len(d.b)-d.i) {
		return nil, errTruncated
	}
	s := d.b[d.i : d.i+int(arg)]
	d.i += int(arg)
	return s, nil
}

// skip skips one item.
func (d *cborDecoder) skip() error {
	major, _, arg, err := d.head()
	if err != nil {
		return err
	}
	switch major {
	case cborBytes, cborText:
		_, err = d.content(arg)
		return err
	case cborArray:
		for range arg {
			if err := d.skip(); err != nil {
				return err
			}
		}
	case cborMap:
		for range 2 * arg {
			if err := d.skip(); err != nil {
				return err
			}
		}
	case 6 << 5: // a tag: skip its item
		return d.skip()
	}
	return nil
}

// decodeTime reads an instant (see appendTime).
func (d *cborDecoder) decodeTime() (time.Time, error) {
	if d.i < len(d.b) && d.b[d.i]&0xe0 != cborArray {
		sec, err := d.int()
		return time.Unix(sec, 0).UTC(), err
	}
	_, _, n, err := d.head()
	if err != nil {
		return time.Time{}, err
	}
	if n != 2 && n != 3 {
		return time.Time{}, fmt.Errorf("an instant is an array of 2 or 3 integers, not %d items", n)
	}
	var v [3]int64
	for i := range n {
		if v[i], err = d.int(); err != nil {
			return time.Time{}, err
		}
	}
	if v[2] < 0 || v[2] >= 1e9 || v[1] <= -86400 || v[1] >= 86400 {
		return time.Time{}, errors.New("instant out of range")
	}
	return zoned(time.Unix(v[0], v[2]), int(v[1])), nil
}

// zoned returns t at the offset off (seconds east of UTC), in the location
// time.Parse gives a time with that offset: UTC for 0, Local if Local has
// the offset at t, else a fixed zone without a name.
func zoned(t time.Time, off int) time.Time {
	if off == 0 {
		return t.UTC()
	}
	if _, lo := t.In(time.Local).Zone(); lo == off {
		return t.In(time.Local)
	}
	return t.In(time.FixedZone("", off))
}

// decodeValue reads an item into v.
func (d *cborDecoder) decodeValue(v reflect.Value, f *fieldCodec) error {
	t := v.Type()
	if t == timeType {
		tm, err := d.decodeTime()
		if err != nil {
			return err
		}
		*v.Addr().Interface().(*time.Time) = tm // fields are addressable
		return nil
	}
	if d.i < len(d.b) && d.b[d.i] == cborOther|22 && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Slice || v.Kind() == reflect.Map) {
		d.i++
		v.SetZero()
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return d.decodeValue(v.Elem(), f)
	case reflect.Struct:
		return d.decodeStruct(v)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := d.int()
		if err == nil && v.OverflowInt(n) {
			err = errors.New("integer out of range")
		}
		v.SetInt(n)
		return err
	}
	major, ai, arg, err := d.head()
	if err != nil {
		return err
	}
	switch v.Kind() {
	case reflect.Slice:
		return d.decodeSlice(v, major, arg)
	case reflect.Map:
		return d.decodeMap(v, major, arg)
	}
	return d.decodeScalar(v, f, major, ai, arg)
}

// decodeScalar reads the rest of an item whose head was read into a
// boolean, number or string.
func (d *cborDecoder) decodeScalar(v reflect.Value, f *fieldCodec, major, ai byte, arg uint64) error {
	switch v.Kind() {
	case reflect.Bool:
		if major != cborOther || (ai != 20 && ai != 21) {
			return errors.New("not a boolean")
		}
		v.SetBool(ai == 21)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if major != cborUint || v.OverflowUint(arg) {
			return errors.New("not an unsigned integer in range")
		}
		v.SetUint(arg)
		return nil
	case reflect.Float32, reflect.Float64:
		if major != cborOther || ai < 25 || ai > 27 {
			return errors.New("not a float")
		}
		switch ai {
		case 25:
			v.SetFloat(halfToFloat(uint16(arg)))
		case 26:
			v.SetFloat(float64(math.Float32frombits(uint32(arg))))
		default:
			v.SetFloat(math.Float64frombits(arg))
		}
		return nil
	case reflect.String:
		switch {
		case major == cborUint && f != nil && f.enum != nil && arg < uint64(len(f.enum)):
			v.SetString(f.enum[arg])
			return nil
		case major == cborBytes && f != nil && f.hex:
			s, err := d.content(arg)
			v.SetString(hex.EncodeToString(s))
			return err
		case major != cborText:
			return errors.New("not a text string")
		}
		s, err := d.content(arg)
		v.SetString(string(s))
		return err
	}
	return fmt.Errorf("a %s cannot be decoded", v.Type())
}

// decodeSlice reads the rest of a byte string or array into a slice.
func (d *cborDecoder) decodeSlice(v reflect.Value, major byte, arg uint64) error {
	t := v.Type()
	if t.Elem().Kind() == reflect.Uint8 {
		if major != cborBytes {
			return errors.New("not a byte string")
		}
		s, err := d.content(arg)
		v.SetBytes(bytes.Clone(s))
		return err
	}
	if major != cborArray {
		return errors.New("not an array")
	}
	if arg > uint64(len(d.b)-d.i) {
		return errTruncated
	}
	s := reflect.MakeSlice(t, int(arg), int(arg))
	for i := range int(arg) {
		if err := d.decodeValue(s.Index(i), nil); err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
	}
	v.Set(s)
	return nil
}

// decodeMap reads the rest of a map into a Go map.
func (d *cborDecoder) decodeMap(v reflect.Value, major byte, arg uint64) error {
	t := v.Type()
	if major != cborMap {
		return errors.New("not a map")
	}
	if arg > uint64(len(d.b)-d.i) {
		return errTruncated
	}
	m := reflect.MakeMapWithSize(t, int(arg))
	for range arg {
		k, e := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
		if err := d.decodeValue(k, nil); err != nil {
			return err
		}
		if err := d.decodeValue(e, nil); err != nil {
			return err
		}
		m.SetMapIndex(k, e)
	}
	v.Set(m)
	return nil
}

// decodeStruct reads a map into a struct; keys it does not know are
// skipped.
func (d *cborDecoder) decodeStruct(v reflect.Value) error {
	major, _, n, err := d.head()
	if err != nil {
		return err
	}
	if major != cborMap {
		return fmt.Errorf("a %s is a map, not major type %d", v.Type(), major>>5)
	}
	c := codecFor(v.Type())
	for range n {
		kmajor, _, arg, err := d.head()
		if err != nil {
			return err
		}
		pos, ok := -1, false
		switch kmajor {
		case cborUint:
			pos, ok = c.byNum[arg]
			if !ok {
				pos = -1
			}
		case cborText:
			k, err := d.content(arg)
			if err != nil {
				return err
			}
			if p, ok := c.byName[string(k)]; ok {
				pos = p
			}
		default:
			return fmt.Errorf("a %s has a key of major type %d", v.Type(), kmajor>>5)
		}
		if pos < 0 {
			if err := d.skip(); err != nil {
				return err
			}
			continue
		}
		f := &c.fields[pos]
		if err := d.decodeValue(v.Field(f.index), f); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return nil
}

// halfToFloat returns the value of half-precision bits.
func halfToFloat(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, mant := int(h>>10)&0x1f, float64(h&0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(mant, -24)
	case 0x1f:
		if mant == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * math.Ldexp(mant+1024, exp-25)
}
