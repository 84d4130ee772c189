package storecore

import (
	"errors"
	"runtime"
	"sync"

	"credo"
)

// parallelDecodeMin is the number of events from which DecodeEvents
// decodes on all cores.
const parallelDecodeMin = 512

// DecodeEvents decodes stored event bodies with their stored hashes (as
// DecodeEvent), in order; from parallelDecodeMin events on, on every core.
func DecodeEvents(bodies [][]byte, hashes []string) ([]credo.Event, error) {
	evs := make([]credo.Event, len(bodies))
	decode := func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			ev, err := DecodeEvent(bodies[i], hashes[i])
			if err != nil {
				return err
			}
			evs[i] = *ev
		}
		return nil
	}
	workers := runtime.GOMAXPROCS(0)
	if len(bodies) < parallelDecodeMin || workers < 2 {
		return evs, decode(0, len(bodies))
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	step := (len(bodies) + workers - 1) / workers
	for w := range workers {
		lo, hi := w*step, min((w+1)*step, len(bodies))
		wg.Go(func() {
			if lo < hi {
				errs[w] = decode(lo, hi)
			}
		})
	}
	wg.Wait()
	return evs, errors.Join(errs...)
}
