package storetest

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"credo"
)

// FloorEvent is one ready-made row of the stores' floor benchmarks, which
// measure what the database alone takes (rows made before the timer
// starts, nothing else done): a subject, a case reference, an event body
// of FloorBodySize bytes and its SHA-256 in hex.
type FloorEvent struct {
	Subject, CaseRef, Hash string
	Body                   []byte
}

// floorShape is the body of a floor event without its padding.
const floorShape = `{"seq":0000000,"subject":"110105199003074578","case_ref":"(2024)京0101民初0000000号","pad":""}`

// FloorBodySize is the size of a floor event's body: 585 bytes, the mean
// of a generated city's record.filed events, or $FLOOR_BODY (at least the
// ~95 bytes of an event with a subject and a case reference).
func FloorBodySize() int {
	if n, err := strconv.Atoi(os.Getenv("FLOOR_BODY")); err == nil {
		return max(n, len(floorShape))
	}
	return 585
}

// FloorEvents returns the floor events from..from+n-1.
func FloorEvents(from, n int) []FloorEvent {
	pad := strings.Repeat("x", FloorBodySize()-len(floorShape))
	evs := make([]FloorEvent, n)
	for i := range evs {
		k := from + i
		e := &evs[i]
		e.Subject = fmt.Sprintf("1101051990%08d", k)
		e.CaseRef = fmt.Sprintf("(2024)京0101民初%07d号", k)
		e.Body = fmt.Appendf(nil, `{"seq":%07d,"subject":"%s","case_ref":"%s","pad":"%s"}`, k, e.Subject, e.CaseRef, pad)
		e.Hash = credo.HashBytes(e.Body)
	}
	return evs
}
