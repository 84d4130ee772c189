package main

import (
	"context"
	"errors"

	"credo"
	"credo/registry"
	"credo/synth"
)

// errStopped is what a producer returns when its send was refused: the
// consumer failed or the context ended.
var errStopped = errors.New("pipeline stopped")

// pipeline runs produce in a goroutine of its own and hands the batches it
// sends to consume, one at a time, in the order sent: the next depth
// batches are produced while consume works on the current one (on two
// cores, making batch N+1 overlaps filing batch N).
//
// send reports false when the pipeline is stopping (consume failed, or ctx
// ended); produce should then return (errStopped, or its own error). When
// consume fails, the batches still queued are dropped, the producer is
// stopped and waited for, and consume's error is returned. pipeline never
// returns before the producer goroutine has ended. Its error is consume's,
// else produce's (errStopped becomes ctx's error).
func pipeline[T any](ctx context.Context, depth int, produce func(send func(T) bool) error, consume func(T) error) error {
	queue := make(chan T, depth)
	stop := make(chan struct{})
	done := make(chan struct{})
	var perr error
	go func() {
		defer close(done)
		defer close(queue)
		perr = produce(func(b T) bool {
			select {
			case <-stop:
				return false
			case <-ctx.Done():
				return false
			default:
			}
			select {
			case queue <- b:
				return true
			case <-stop:
				return false
			case <-ctx.Done():
				return false
			}
		})
	}()
	var cerr error
	for b := range queue {
		if cerr != nil {
			continue // drain what was queued before the producer saw stop
		}
		if err := ctx.Err(); err != nil {
			cerr = interruptedErr(err)
		} else {
			cerr = consume(b)
		}
		if cerr != nil {
			close(stop)
		}
	}
	<-done
	switch {
	case cerr != nil:
		return cerr
	case errors.Is(perr, errStopped) && ctx.Err() != nil:
		return interruptedErr(ctx.Err())
	}
	return perr
}

func interruptedErr(err error) error {
	return &credo.Error{Code: credo.EUNAVAILABLE, Message: "interrupted: " + err.Error(), Err: err}
}

// cityBatch is the number of generated records filed per batch (the valid
// ones among them, in one call of Registry.FileEach).
const cityBatch = 10000

// cityStep is the number of subjects generated at a time.
const cityStep = 1000

// cityChunk is one batch of generated records on its way to the store:
// the valid ones, and what validation refused.
type cityChunk struct {
	valid        []*credo.Record
	refused      int64
	firstRefusal error
	subjects     int // subjects generated in full by the end of this batch, not counted before
}

// cityLoad is what fileCity filed.
type cityLoad struct {
	filed, refused int64
	firstRefusal   error // the first record refused (by validation or a conflict)
}

// fileCity validates and files a city's records into reg, subjects in
// order, in batches of cityBatch generated records (the valid ones filed
// in one call of FileEach each). It is a two-stage pipeline: a producer
// goroutine generates and validates the next batches while the calling
// goroutine files the current one. Batches are filed one after another
// in the order generated, so the log is the same, byte for byte, as
// generating, validating and filing each batch in turn. Records the policy
// in force refuses, and conflicts, are counted (the first kept). progress,
// if not nil, is called after each batch is filed with the number of
// subjects it completed. On an error the batches filed before it stay
// filed and are counted; nothing else is.
func fileCity(ctx context.Context, reg *registry.Registry, city *synth.City, progress func(subjects int)) (cityLoad, error) {
	var out cityLoad
	produce := func(send func(*cityChunk) bool) error {
		c := &cityChunk{valid: make([]*credo.Record, 0, cityBatch)}
		n := 0 // records generated into c
		emit := func() error {
			if !send(c) {
				return errStopped
			}
			c, n = &cityChunk{valid: make([]*credo.Record, 0, cityBatch)}, 0
			return nil
		}
		for lo := 0; lo < city.Subjects(); lo += cityStep {
			hi := min(lo+cityStep, city.Subjects())
			if err := city.RecordsRange(lo, hi, func(r *credo.Record) error {
				rec := *r
				n++
				if err := reg.Validate(ctx, &rec); err != nil {
					c.refused++
					if c.firstRefusal == nil {
						c.firstRefusal = err
					}
				} else {
					c.valid = append(c.valid, &rec)
				}
				if n >= cityBatch {
					return emit()
				}
				return nil
			}); err != nil {
				return err
			}
			c.subjects += hi - lo
		}
		if n > 0 || c.subjects > 0 {
			return emit()
		}
		return nil
	}
	consume := func(c *cityChunk) error {
		out.refused += c.refused
		if out.firstRefusal == nil {
			out.firstRefusal = c.firstRefusal
		}
		if len(c.valid) > 0 {
			res, conflicts, err := reg.FileEach(ctx, c.valid)
			if err != nil {
				return err
			}
			for i := range res {
				switch {
				case conflicts[i] != nil:
					out.refused++
					if out.firstRefusal == nil {
						out.firstRefusal = conflicts[i]
					}
				case res[i].Created:
					out.filed++
				}
			}
		}
		if progress != nil && c.subjects > 0 {
			progress(c.subjects)
		}
		return nil
	}
	// Two batches queued: the producer is never starved by a slow
	// batch, and holds at most three batches of records in memory.
	err := pipeline(ctx, 2, produce, consume)
	return out, err
}

// noticesIssued tells the registry that a bulk load it filed issued its
// own notices, so that the sweeper of missing notices need not examine
// every loaded record again at the next start (Registry.NoticesIssuedThrough:
// nothing is moved if a notice failed).
func noticesIssued(ctx context.Context, reg *registry.Registry) error {
	head, _, err := reg.Store().Head(ctx)
	if err != nil {
		return err
	}
	_, err = reg.NoticesIssuedThrough(ctx, head)
	return err
}
