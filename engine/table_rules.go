package engine

import (
	"math/bits"
	"runtime"
	"strconv"
	"sync"
	"time"

	"credo"
	"credo/policy"
)

// Rule masks: which rules an entry can depend on, so that a new policy
// version that changes some rules re-evaluates only the subjects with
// records under them (Table.CarryOver) and carries the other entries over.
//
// A subject's mask has the bit of the rule of each of its records and of
// the records of the organisations it is linked to (an organisation's
// records reach its responsible persons). Bit i stands for the table
// policy's i-th rule, for the first 63 rules; bit 63 (otherRule) for every
// other code: later rules, and codes the policy has no rule for (records
// of a rule a later version may add). An entry stored without its facts
// (Put, an old snapshot) has no mask: it may depend on any rule (anyRule,
// which a snapshot does not write). The mask sits beside the entry in the
// table's maps: 8 bytes more per subject.

const (
	maskBits  = 64
	otherRule = maskBits - 1
	anyRule   = ^uint64(0) // an unknown mask: the entry may depend on any rule
)

// ruleBits numbers a policy's rules for the masks.
func ruleBits(pol *policy.Policy) map[string]uint8 {
	m := make(map[string]uint8, min(len(pol.Rules), otherRule))
	for i, r := range pol.Rules {
		if i < otherRule {
			m[r.Code] = uint8(i)
		}
	}
	return m
}

// bitOf is the mask bit of a rule code.
func (t *Table) bitOf(code string) uint64 {
	if b, ok := t.ruleBit[code]; ok {
		return 1 << b
	}
	return 1 << otherRule
}

// RuleBits returns the mask bits of rule codes under the table's policy:
// the bits of the entries that can depend on them.
func (t *Table) RuleBits(codes []string) uint64 {
	var m uint64
	for _, c := range codes {
		m |= t.bitOf(c)
	}
	return m
}

// RuleMask returns the rule mask of a subject's facts: the bits of the
// rules of its records and of the records of its linked organisations.
func (t *Table) RuleMask(f *Facts) uint64 {
	m := t.eventRules(f.Events)
	for _, o := range f.Orgs {
		m |= t.eventRules(o.Events)
	}
	return m
}

func (t *Table) eventRules(evs []credo.Event) uint64 {
	var m uint64
	last := ""
	for i := range evs {
		ev := &evs[i]
		if ev.Type != credo.EventRecordFiled || ev.Record == nil {
			continue
		}
		if c := ev.Record.Rule; c != last {
			m |= t.bitOf(c)
			last = c
		}
	}
	return m
}

// PutFacts stores a subject's entry, computed from facts f, with the rule
// mask of f.
func (t *Table) PutFacts(subject string, e Entry, f *Facts) {
	t.put(subject, e, true, t.RuleMask(f))
}

// PutRules stores a subject's entry with its rule mask (RuleBits of the
// rules of its records and of its linked organisations' records), for a
// table filled from something other than Facts.
func (t *Table) PutRules(subject string, e Entry, rules uint64) {
	t.put(subject, e, true, rules)
}

// Rules returns a subject's rule mask; ok is false when it has no entry
// of its own or its mask is unknown.
func (t *Table) Rules(subject string) (mask uint64, ok bool) {
	key, isRIC := RICKey(subject)
	sh := t.shardFor(subject, key, isRIC)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	var sl slot
	if isRIC {
		sl, ok = sh.ric[key]
	} else {
		sl, ok = sh.str[subject]
	}
	return sl.rules, ok && sl.rules != anyRule
}

// CarryOver copies into table to (empty, under a newer policy version) the
// entries of t that a change of the rules whose bits are in affected
// cannot touch, renumbering their measures from t's policy to to's by
// measure id (a measure to's policy lacks is dropped) and their rule masks
// likewise. It returns the subjects it did not carry over, to re-evaluate:
// those whose mask meets affected, whose mask is unknown, or whose entry
// has passed its next change by now.
//
// The caller vouches that nothing else differs between the two policies
// that an entry can depend on (registry: the policy diff): only the rules
// in affected, and measures removed, reordered or changed in what no
// entry records (sector, effect, texts). to must not be in use yet.
func (t *Table) CarryOver(to *Table, affected uint64, now time.Time) (reeval []string, carried int) {
	measures := measureMap(t.pol, to.pol)
	rules := t.ruleMap(to)
	ns := now.UnixNano()
	keep := func(sl slot) (slot, bool) {
		if sl.rules == anyRule || sl.rules&affected != 0 || sl.e.Next <= ns {
			return sl, false
		}
		return slot{Entry{InForce: renumber(sl.e.InForce, measures), Next: sl.e.Next}, remapMask(sl.rules, rules)}, true
	}
	// The shards on every core: each copies into its namesake.
	workers := max(min(runtime.GOMAXPROCS(0), shardCount), 1)
	backs := make([][]string, workers)
	counts := make([]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < shardCount; i += workers {
				backs[w], counts[w] = t.shards[i].carryInto(&to.shards[i], keep, backs[w], counts[w])
			}
		}()
	}
	wg.Wait()
	for w := range workers {
		reeval = append(reeval, backs[w]...)
		carried += counts[w]
	}
	return reeval, carried
}

// carryInto copies the entries keep keeps into dst, sized once, and
// appends the others' subjects to back.
func (sh *shard) carryInto(dst *shard, keep func(slot) (slot, bool), back []string, n int) ([]string, int) {
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	dst.mu.Lock()
	defer dst.mu.Unlock()
	if len(dst.ric)+len(dst.str) == 0 {
		dst.ric, dst.str = make(map[uint64]slot, len(sh.ric)), make(map[string]slot, len(sh.str))
	}
	for k, sl := range sh.ric {
		if sl, ok := keep(sl); ok {
			dst.ric[k] = sl
			n++
		} else {
			back = append(back, ricString(k))
		}
	}
	for k, sl := range sh.str {
		if sl, ok := keep(sl); ok {
			dst.str[k] = sl
			n++
		} else {
			back = append(back, k)
		}
	}
	return back, n
}

// measureMap maps each measure index of policy a to its index in b by id
// (-1: b has no such measure).
func measureMap(a, b *policy.Policy) []int {
	out := make([]int, len(a.Measures))
	for i, m := range a.Measures {
		out[i] = -1
		if nm := b.Measure(m.ID); nm != nil {
			out[i] = nm.Index()
		}
	}
	return out
}

// renumber maps a measure set through measureMap.
func renumber(s MeasureSet, to []int) MeasureSet {
	var out MeasureSet
	for w, x := range s {
		for ; x != 0; x &= x - 1 {
			if i := w*64 + bits.TrailingZeros64(x); i < len(to) && to[i] >= 0 {
				out.Add(to[i])
			}
		}
	}
	return out
}

// ruleMap maps each mask bit of t to the bits of table to: a rule's bit to
// the same code's bit, and the bit of other codes to every bit of to that
// stands for a code t counted as other.
func (t *Table) ruleMap(to *Table) [maskBits]uint64 {
	var out [maskBits]uint64
	for code, b := range t.ruleBit {
		out[b] = to.bitOf(code)
	}
	out[otherRule] = 1 << otherRule
	for code, b := range to.ruleBit {
		if _, ok := t.ruleBit[code]; !ok {
			out[otherRule] |= 1 << b
		}
	}
	return out
}

func remapMask(m uint64, to [maskBits]uint64) uint64 {
	var out uint64
	for ; m != 0; m &= m - 1 {
		out |= to[bits.TrailingZeros64(m)]
	}
	return out
}

// ricString is the identifier a ricKey was made from.
func ricString(k uint64) string {
	last := k % 11
	s := strconv.FormatUint(k/11, 10)
	b := make([]byte, 0, 18)
	for range 17 - len(s) {
		b = append(b, '0')
	}
	b = append(b, s...)
	if last == 10 {
		return string(append(b, 'X'))
	}
	return string(append(b, byte('0'+last)))
}
