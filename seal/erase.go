package seal

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"time"

	"credo"
)

// LedgerEntry is one line of the erasure ledger: a subject erased (by
// pseudonym), the sequence number of its subject.erased event and when.
// The ledger is appended and synced before the key is destroyed; it lives
// outside the database, so that restoring an older backup of the database
// cannot bring an erased subject back: opening the store applies every
// erasure in the ledger again.
type LedgerEntry struct {
	Pseudonym string    `json:"pseudonym"`
	Seq       int64     `json:"seq"`
	At        time.Time `json:"at"`
}

// LedgerPath returns the erasure ledger of the SQLite registry at path.
func LedgerPath(path string) string { return path + ".erasures" }

// ReadLedger reads an erasure ledger (none: empty).
func ReadLedger(path string) ([]LedgerEntry, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []LedgerEntry
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var e LedgerEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || !IsPseudonym(e.Pseudonym) {
			// A torn last line (a crash while appending) is the only
			// damage an append-only file takes: its key was not yet
			// destroyed.
			continue
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

func appendLedger(path string, e LedgerEntry) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(&e)
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Erase crypto-shreds a subject: it appends a subject.erased event (the
// pseudonym, the reason, the legal basis, the retention end; nothing
// personal), records the erasure in the ledger (synced), then destroys the
// subject's data key and deletes the checks run on them. From then on the
// subject's events are ciphertext no one can open: the store answers as
// for an unknown subject, while the log, its hashes and its proofs are
// unchanged. ENOTFOUND if the subject has no key (never known, or erased).
func (s *Store) Erase(ctx context.Context, subject string, e credo.Erasure) (*credo.Event, error) {
	s.eraseMu.Lock()
	defer s.eraseMu.Unlock()
	p, k, err := s.subjectKey(ctx, subject)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, &credo.Error{Code: credo.ENOTFOUND, Field: "subject", Message: fmt.Sprintf("%s is not in the registry (never, or erased already)", subject)}
	}
	return s.erase(ctx, p, e)
}

// erase erases the subject with pseudonym p (under eraseMu).
func (s *Store) erase(ctx context.Context, p string, e credo.Erasure) (*credo.Event, error) {
	if e.Reason == "" {
		return nil, credo.FieldErrorf("reason", "required: why the subject is erased")
	}
	if e.LegalBasis == "" {
		return nil, credo.FieldErrorf("legal_basis", "required: the provision the erasure is made under")
	}
	evs, err := s.in.Append(ctx, []*credo.Event{{Type: credo.EventSubjectErased, Subject: p, Actor: "registry", Erasure: &e}})
	if err != nil {
		return nil, err
	}
	ev := evs[0]
	if s.opts.Ledger != "" {
		if err := appendLedger(s.opts.Ledger, LedgerEntry{Pseudonym: p, Seq: ev.Seq, At: ev.Recorded.UTC()}); err != nil {
			return nil, credo.Errorf(credo.EINTERNAL, "the erasure ledger %s cannot be written (the key is kept; retry): %v", s.opts.Ledger, err)
		}
	}
	if err := s.shred(ctx, p); err != nil {
		return nil, err
	}
	return ev, nil
}

// shred revokes the subject's tokens, deletes the checks logged under its
// pseudonym, then destroys its key: last, so that a crash before it
// leaves the key, which opening the store shreds again (see replayLedger);
// once the key is gone nothing would.
func (s *Store) shred(ctx context.Context, p string) error {
	ts, err := s.in.Tokens(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.Subject == p && t.Revoked.IsZero() {
			if err := s.in.RevokeToken(ctx, t.ID, s.opts.Now()); err != nil {
				return err
			}
		}
	}
	if _, err := s.in.DeleteChecksOf(ctx, p); err != nil {
		return err
	}
	if _, err := s.in.DeleteSubjectKey(ctx, p); err != nil {
		return err
	}
	s.forget(p)
	return nil
}

// replayLedger applies every erasure of the ledger or of the log the store
// does not reflect: a key that exists while the ledger says it was
// destroyed (an older backup restored, or a crash between the ledger and
// the delete), or while the log holds a subject.erased event for it (a
// crash between the event and the ledger, or a store kept without a
// ledger). A key made after the erasure (the subject filed about anew:
// events after its subject.erased event that open) is kept.
func (s *Store) replayLedger(ctx context.Context) error {
	var ps []string
	inLedger := map[string]bool{}
	if s.opts.Ledger != "" {
		entries, err := ReadLedger(s.opts.Ledger)
		if err != nil {
			return err
		}
		for _, e := range entries {
			ps = append(ps, e.Pseudonym)
			inLedger[e.Pseudonym] = true
		}
	}
	// The log is read from where the last open that went through it
	// stopped (the events table has no index by type: not the whole log
	// at every open), up to the head read first, so that every erasure up
	// to it is visible.
	info, err := s.in.SealInfo(ctx)
	if err != nil {
		return err
	}
	from, _ := strconv.ParseInt(info[infoErasuresThrough], 10, 64)
	head, _, err := s.in.Head(ctx)
	if err != nil {
		return err
	}
	for after := from; after < head; {
		evs, err := s.in.EventsOfType(ctx, after, 1000, []credo.EventType{credo.EventSubjectErased})
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if ev.Seq <= head && IsPseudonym(ev.Subject) {
				ps = append(ps, ev.Subject)
			}
		}
		if len(evs) < 1000 {
			break
		}
		after = evs[len(evs)-1].Seq
	}
	if err := s.reapply(ctx, ps, inLedger); err != nil {
		return err
	}
	if head > from {
		// Best effort (a read-only store cannot record it): the next open
		// reads these events again.
		_ = s.in.SetSealInfo(ctx, infoErasuresThrough, strconv.FormatInt(head, 10))
	}
	return nil
}

// reapply shreds the keys of the pseudonyms given (erased in the ledger or
// the log) that are still stored, unless made anew after the erasure.
func (s *Store) reapply(ctx context.Context, ps []string, inLedger map[string]bool) error {
	if len(ps) == 0 {
		return nil
	}
	rows, err := s.in.SubjectKeys(ctx, dedupe(ps))
	if err != nil {
		return err
	}
	s.eraseMu.Lock()
	defer s.eraseMu.Unlock()
	for _, row := range rows {
		evs, err := s.in.SubjectEvents(ctx, row.Pseudonym)
		if err != nil {
			return err
		}
		var erasedAt int64
		for _, ev := range evs {
			if ev.Type == credo.EventSubjectErased {
				erasedAt = ev.Seq
			}
		}
		if erasedAt == 0 {
			// The log predates the erasure (an older backup): record it
			// again, then destroy the key.
			if _, err := s.erase(ctx, row.Pseudonym, credo.Erasure{Reason: "erasure re-applied from the erasure ledger (the registry was restored from a backup taken before it)", LegalBasis: "the original erasure's"}); err != nil {
				return err
			}
			s.reapplied++
			s.opts.Log("erasure re-applied from the ledger", "pseudonym", row.Pseudonym)
			continue
		}
		later := false
		k, err := s.unwrapRow(row)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if ev.Seq > erasedAt {
				c := ev
				if openEvent(&c, map[string]*dataKey{row.Pseudonym: k}) {
					later = true
					break
				}
			}
		}
		if !later {
			if s.opts.Ledger != "" && !inLedger[row.Pseudonym] {
				// The crash came before the ledger line: write it, so
				// that a backup restored later cannot bring the key back.
				if err := appendLedger(s.opts.Ledger, LedgerEntry{Pseudonym: row.Pseudonym, Seq: erasedAt, At: s.opts.Now().UTC()}); err != nil {
					return credo.Errorf(credo.EINTERNAL, "the erasure ledger %s cannot be written: %v", s.opts.Ledger, err)
				}
			}
			if err := s.shred(ctx, row.Pseudonym); err != nil {
				return err
			}
			s.reapplied++
			s.opts.Log("erasure completed from the ledger", "pseudonym", row.Pseudonym)
		}
	}
	return nil
}

// Rotate re-wraps every subject's data key under a new key-encryption key,
// in batches (each one transaction), without touching the log: keys
// already under the new key are skipped, so an interrupted rotation is
// finished by running it again with the same keys. The registry's check
// value of the key-encryption key is updated once every key is re-wrapped.
// It returns how many keys it re-wrapped.
func (s *Store) Rotate(ctx context.Context, next *Keys) (int, error) {
	if next.LookupCheck() != (&Keys{Lookup: s.lookupSecret()}).LookupCheck() {
		return 0, credo.FieldErrorf("--new-keys", "must keep the lookup secret (%s): only the key-encryption key rotates (pseudonyms are in the log)", EnvLookup)
	}
	nw := next.Wrapper()
	n := 0
	var batch []credo.SubjectKey
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := s.in.RewrapSubjectKeys(ctx, batch); err != nil {
			return err
		}
		n += len(batch)
		batch = batch[:0]
		return nil
	}
	err := s.in.AllSubjectKeys(ctx, "", func(row credo.SubjectKey) error {
		if row.KEKID == nw.ID() {
			return nil
		}
		w := s.unwrap[row.KEKID]
		if w == nil {
			return credo.Errorf(credo.EINVALID, "the data key of %s is wrapped under key-encryption key %s, which was not given", row.Pseudonym, row.KEKID)
		}
		raw, err := w.Unwrap(row.Wrapped, wrapAAD(row.Pseudonym, row.KEKID))
		if err != nil {
			return credo.Errorf(credo.EINTERNAL, "the data key of %s does not unwrap: %v", row.Pseudonym, err)
		}
		wrapped, err := nw.Wrap(raw, wrapAAD(row.Pseudonym, nw.ID()))
		if err != nil {
			return err
		}
		batch = append(batch, credo.SubjectKey{Pseudonym: row.Pseudonym, KEKID: nw.ID(), Wrapped: wrapped})
		if len(batch) >= 1000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return n, err
	}
	if err := s.in.SetSealInfo(ctx, infoKEKCheck, next.KEKCheck()); err != nil {
		return n, err
	}
	s.unwrap[nw.ID()] = nw
	s.wrap = nw
	return n, nil
}
