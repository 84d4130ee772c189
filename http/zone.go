package http

import (
	"reflect"
	"sync"
	"time"
)

// The rule for instants in the API's JSON: every instant is written in
// RFC 3339 with the UTC offset of the time zone of the policy in force
// (Beijing: "2026-03-02T15:30:00+08:00"), never in UTC, so that the date
// part is the day a person in the policy's zone would name. The zone's
// name is not in the JSON (RFC 3339 has no place for it): it is the
// policy's "timezone", at GET /v1/policies/{hash}; the CLI and the portal
// print it beside every instant.

// zone returns the time zone of the policy in force, or nil when there is
// none (instants are then written as they are).
func (s *Server) zone() *time.Location {
	if s == nil || s.reg == nil {
		return nil
	}
	e := s.reg.Engine()
	if e == nil {
		return nil
	}
	now := s.reg.Now()
	v, ok := e.PolicyAt(now, now)
	if !ok || v.Policy == nil {
		return nil
	}
	return v.Policy.Location()
}

// inZone returns v with every time.Time in it (in structs, pointers,
// slices, arrays, maps and interfaces) moved to loc: the same instants,
// written with loc's offset. v itself is not changed: what holds an
// instant is copied. Types that hold none are returned as they are.
func inZone(v any, loc *time.Location) any {
	if v == nil || loc == nil {
		return v
	}
	rv := reflect.ValueOf(v)
	if !holdsTime(rv.Type()) {
		return v
	}
	return moveTime(rv, loc).Interface()
}

var timeType = reflect.TypeFor[time.Time]()

var holdsTimeCache sync.Map // reflect.Type -> bool

// holdsTime reports whether a value of type t may hold a time.Time in an
// exported field, element or value (interfaces may hold anything).
func holdsTime(t reflect.Type) bool {
	if b, ok := holdsTimeCache.Load(t); ok {
		return b.(bool)
	}
	holdsTimeCache.Store(t, false) // a recursive type: assume not while looking
	b := holdsTimeUncached(t)
	holdsTimeCache.Store(t, b)
	return b
}

func holdsTimeUncached(t reflect.Type) bool {
	if t == timeType {
		return true
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return holdsTime(t.Elem())
	case reflect.Map:
		return holdsTime(t.Elem())
	case reflect.Interface:
		return true
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && holdsTime(f.Type) {
				return true
			}
		}
	}
	return false
}

// moveTime returns a copy of v with its instants in loc.
func moveTime(v reflect.Value, loc *time.Location) reflect.Value {
	t := v.Type()
	if !holdsTime(t) {
		return v
	}
	if t == timeType {
		tm := v.Interface().(time.Time)
		if tm.IsZero() {
			return v // omitzero and "0001-01-01T00:00:00Z" stay as they were
		}
		return reflect.ValueOf(tm.In(loc))
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(moveTime(v.Elem(), loc))
		return p
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		out := reflect.New(t).Elem()
		out.Set(moveTime(v.Elem(), loc))
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(t, v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(moveTime(v.Index(i), loc))
		}
		return out
	case reflect.Array:
		out := reflect.New(t).Elem()
		for i := range v.Len() {
			out.Index(i).Set(moveTime(v.Index(i), loc))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(t, v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(it.Key(), moveTime(it.Value(), loc))
		}
		return out
	case reflect.Struct:
		out := reflect.New(t).Elem()
		out.Set(v) // unexported fields as they are
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && holdsTime(f.Type) {
				out.Field(i).Set(moveTime(v.Field(i), loc))
			}
		}
		return out
	}
	return v
}
