package seal

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"credo"
	"credo/internal/storecore"
)

// Backend is what a sealed store wraps: everything the registry and the
// commands need of a store. Both of Credo's stores are one.
type Backend interface {
	credo.RegistryStore
	credo.FactsReader
	credo.TokenStore
	credo.CheckLog
	credo.CheckCounter
	credo.Outbox
	credo.KeyStore
	credo.CheckEraser
	ProbeWrite(ctx context.Context) error
	TreeHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
	EventBodies(ctx context.Context, after, upTo int64, fn func(seq int64, body []byte) error) error
	PolicySeqs(ctx context.Context) ([]int64, error)
}

// Options configure a sealed store.
type Options struct {
	// Ledger is the erasure ledger file (see Erase; "" keeps none).
	Ledger string
	// CacheSize bounds the data keys kept unwrapped in memory (default
	// 1,048,576 subjects, about 200 MB).
	CacheSize int
	// Previous are earlier key-encryption keys, to unwrap keys a rotation
	// has not re-wrapped yet (see Rotate).
	Previous []KeyWrapper
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives what opening re-applies from the ledger.
	Log func(msg string, args ...any)
}

// Store seals a store: it implements the same interfaces, translating
// every subject identifier and case reference to its keyed hash before the
// store sees it, and sealing the personal fields of records and events
// under the subject's data key; reads are opened again. What is not
// personal (rules, authorities, dates, quantities, lists, policies, the
// hashes and the tree) passes through unchanged, so verification and
// proofs need no keys.
type Store struct {
	Backend // the wrapped store: non-personal calls pass through
	in      Backend
	h       *hasher
	f       format // the registry's: lengths of pseudonyms, layout of seals
	lookup  [32]byte
	snapKey []byte
	wrap    KeyWrapper
	unwrap  map[string]KeyWrapper // by KEK id
	opts    Options

	keys *keyCache

	eraseMu   sync.Mutex
	reapplied int // erasures the ledger applied again at open
}

// Reapplied returns how many erasures opening the store applied again
// from the ledger (a restored backup that predates them).
func (s *Store) Reapplied() int { return s.reapplied }

// Info values a sealed registry records (credo.KeyStore.SealInfo).
const (
	infoSealed      = "sealed"
	infoKEKCheck    = "kek_check"
	infoLookupCheck = "lookup_check"
	// the sequence number up to which opening has re-applied the log's
	// subject.erased events
	infoErasuresThrough = "erasures_through"
)

// IsSealed reports whether a store records that it is sealed.
func IsSealed(ctx context.Context, ks credo.KeyStore) (bool, error) {
	info, err := ks.SealInfo(ctx)
	if err != nil {
		return false, err
	}
	return info[infoSealed] != "", nil
}

// Open wraps a store with the operator's keys. A new store (no events) is
// sealed with them, in the current format (formatV2: short pseudonyms); an
// existing one must have been sealed with the same secrets (their check
// values are compared: wrong keys are refused), and keeps the format it
// was sealed in; an unsealed store with events is refused (ErrNotSealed).
// Erasures in the ledger that the store does not reflect (a restored older
// backup) are applied again before it returns.
func Open(ctx context.Context, in Backend, keys *Keys, opts Options) (*Store, error) {
	if opts.CacheSize <= 0 {
		opts.CacheSize = 1 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = func(string, ...any) {}
	}
	f, err := sealInfo(ctx, in, keys)
	if err != nil {
		return nil, err
	}
	s := &Store{Backend: in, in: in, h: newHasher(keys.Lookup[:], f), f: f, wrap: keys.Wrapper(), opts: opts, lookup: keys.Lookup, snapKey: keys.SnapshotKey(),
		unwrap: map[string]KeyWrapper{}, keys: &keyCache{m: map[string]cachedKey{}, max: opts.CacheSize}}
	s.unwrap[s.wrap.ID()] = s.wrap
	for _, w := range opts.Previous {
		s.unwrap[w.ID()] = w
	}
	if err := s.replayLedger(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// sealInfo seals a new store in the current format, or reads the format
// of a sealed one and checks the keys against it.
func sealInfo(ctx context.Context, in Backend, keys *Keys) (format, error) {
	info, err := in.SealInfo(ctx)
	if err != nil {
		return format{}, err
	}
	if info[infoSealed] == "" {
		head, _, err := in.Head(ctx)
		if err != nil {
			return format{}, err
		}
		if head > 0 {
			return format{}, ErrNotSealed
		}
		f := formatV2
		// "sealed" last: until it is written, the store is new and an
		// interrupted sealing is done again.
		kvs := append(f.info(), [2]string{infoKEKCheck, keys.KEKCheck()}, [2]string{infoLookupCheck, f.lookupCheck(keys)}, [2]string{infoSealed, f.version})
		for _, kv := range kvs {
			if err := in.SetSealInfo(ctx, kv[0], kv[1]); err != nil {
				return format{}, err
			}
		}
		return f, nil
	}
	f, err := formatOf(info)
	if err != nil {
		return format{}, err
	}
	if want := f.lookupCheck(keys); info[infoLookupCheck] != want {
		return format{}, credo.Errorf(credo.EINVALID, "the keys given are not this registry's: its lookup secret is another (check value %s, the keys give %s)", info[infoLookupCheck], want)
	}
	if info[infoKEKCheck] != keys.KEKCheck() {
		return format{}, credo.Errorf(credo.EINVALID, "the keys given are not this registry's: its key-encryption key is another (check value %s, the keys give %s; after an interrupted rotation, run credo keys rotate again)", info[infoKEKCheck], keys.KEKCheck())
	}
	return f, nil
}

// ErrNotSealed is returned by Open for a store that holds events in clear.
var ErrNotSealed = credo.Errorf(credo.EINVALID, "this registry was created without keys: its events are not sealed, and sealing an existing log would rewrite it")

// SnapshotKey is the key the decision table's snapshot is encrypted
// under (registry.Options.SnapshotKey), derived from the KEK.
func (s *Store) SnapshotKey() []byte { return s.snapKey }

// Unwrap returns the wrapped store.
func (s *Store) Unwrap() Backend { return s.in }

// Pseudonym returns the pseudonym the store knows a canonical subject
// identifier by.
func (s *Store) Pseudonym(id string) string { return s.h.Pseudonym(id) }

// CaseRef returns the keyed hash the store keeps of a case reference.
func (s *Store) CaseRef(authority, caseRef string) string { return s.h.CaseRef(authority, caseRef) }

// Notify forwards the wrapped store's log notifications (PostgreSQL).
func (s *Store) Notify(ctx context.Context) (<-chan struct{}, error) {
	if n, ok := s.in.(interface {
		Notify(context.Context) (<-chan struct{}, error)
	}); ok {
		return n.Notify(ctx)
	}
	return nil, credo.Errorf(credo.EUNAVAILABLE, "the store offers no notifications")
}

// Ping forwards the wrapped store's Ping.
func (s *Store) Ping(ctx context.Context) error { return s.in.Ping(ctx) }

// --- data keys ---

func wrapAAD(pseudonym, kekID string) []byte {
	return []byte("credo key\x00" + pseudonym + "\x00" + kekID)
}
func idAAD(pseudonym string) []byte { return []byte("credo id\x00" + pseudonym) }

// keyCache keeps unwrapped data keys by pseudonym, bounded. An entry is
// the raw key and the identifier, no cipher and nothing else the garbage
// collector must trace: the cache holds up to a million keys, and a cipher
// kept with each (~900 bytes, and pointers) made the collector a fifth of
// a 5 M-person load's CPU. A key read from the cache is a new dataKey,
// whose cipher is made when it first seals or opens something and dropped
// with it.
type keyCache struct {
	mu  sync.RWMutex
	m   map[string]cachedKey
	max int
}

type cachedKey struct {
	id  string
	raw [32]byte
	n   uint8 // bytes of raw in use (a data key is 32)
}

func (s *Store) cached(p string) *dataKey {
	c := s.keys
	c.mu.RLock()
	e, ok := c.m[p]
	c.mu.RUnlock()
	if !ok {
		return nil
	}
	return &dataKey{id: e.id, raw: append([]byte(nil), e.raw[:e.n]...)}
}

// isCached reports whether p's key is in the cache, without copying it.
func (s *Store) isCached(p string) bool {
	s.keys.mu.RLock()
	_, ok := s.keys.m[p]
	s.keys.mu.RUnlock()
	return ok
}

func (s *Store) remember(p string, k *dataKey) {
	if len(k.raw) > 32 {
		return // not a key this store makes: not cached
	}
	e := cachedKey{id: k.id, n: uint8(len(k.raw))}
	copy(e.raw[:], k.raw)
	c := s.keys
	c.mu.Lock()
	if len(c.m) >= c.max {
		// Forget a random eighth (map order): bounded memory, no
		// bookkeeping on the hit path.
		n := len(c.m) / 8
		for q := range c.m {
			if n--; n < 0 {
				break
			}
			delete(c.m, q)
		}
	}
	c.m[p] = e
	c.mu.Unlock()
}

func (s *Store) forget(p string) {
	c := s.keys
	c.mu.Lock()
	delete(c.m, p)
	c.mu.Unlock()
}

// Over returns a sealed store over another backend with the same keys and
// key cache, without writing to it: the read replica of a sealed primary.
func (s *Store) Over(in Backend) *Store {
	return &Store{Backend: in, in: in, h: s.h, f: s.f, lookup: s.lookup, snapKey: s.snapKey, wrap: s.wrap, unwrap: s.unwrap, opts: s.opts, keys: s.keys}
}

// unwrapRow turns a stored key into a data key, checking that its sealed
// identifier opens.
func (s *Store) unwrapRow(row credo.SubjectKey) (*dataKey, error) {
	w := s.unwrap[row.KEKID]
	if w == nil {
		return nil, credo.Errorf(credo.EINVALID, "the data key of %s is wrapped under key-encryption key %s, which was not given (finish a rotation with credo keys rotate)", row.Pseudonym, row.KEKID)
	}
	raw, err := w.Unwrap(row.Wrapped, wrapAAD(row.Pseudonym, row.KEKID))
	if err != nil {
		return nil, credo.Errorf(credo.EINTERNAL, "the data key of %s does not unwrap under key-encryption key %s: %v", row.Pseudonym, row.KEKID, err)
	}
	k, err := newDataKey(raw)
	if err != nil {
		return nil, err
	}
	// The identifier is opened with a cipher of its own, not kept: the key
	// may never seal or open anything else (dataKey).
	a, err := newGCM(raw)
	if err != nil {
		return nil, err
	}
	id, err := openWith(a, idAAD(row.Pseudonym), row.SealedID)
	if err != nil {
		return nil, credo.Errorf(credo.EINTERNAL, "the identifier sealed beside the data key of %s does not open", row.Pseudonym)
	}
	k.id = string(id)
	return k, nil
}

// keysFor returns the data keys of the pseudonyms that have one.
func (s *Store) keysFor(ctx context.Context, ps []string) (map[string]*dataKey, error) {
	return s.keysForKnown(ctx, ps, nil)
}

// keysForKnown is keysFor with some keys already read (known, by
// pseudonym).
func (s *Store) keysForKnown(ctx context.Context, ps []string, known map[string]*dataKey) (map[string]*dataKey, error) {
	out := make(map[string]*dataKey, len(ps))
	var miss []string
	for _, p := range ps {
		if p == "" || out[p] != nil {
			continue
		}
		if k := known[p]; k != nil {
			out[p] = k
		} else if k := s.cached(p); k != nil {
			out[p] = k
		} else if !IsPseudonym(p) {
			continue
		} else {
			miss = append(miss, p)
		}
	}
	if len(miss) == 0 {
		return out, nil
	}
	rows, err := s.in.SubjectKeys(ctx, dedupe(miss))
	if err != nil {
		return nil, err
	}
	return out, s.openKeys(rows, nil, out)
}

// openKeys unwraps the stored keys rows (those of the pseudonyms in want;
// all if want is nil), caches them and adds them to out.
func (s *Store) openKeys(rows []credo.SubjectKey, want map[string]bool, out map[string]*dataKey) error {
	for _, row := range rows {
		if want != nil && !want[row.Pseudonym] {
			continue
		}
		k, err := s.unwrapRow(row)
		if err != nil {
			return err
		}
		s.remember(row.Pseudonym, k)
		out[row.Pseudonym] = k
	}
	return nil
}

func dedupe(ps []string) []string {
	seen := make(map[string]bool, len(ps))
	out := ps[:0]
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// ensure returns the data keys of the given subjects (pseudonym to
// canonical identifier), creating those that have none.
func (s *Store) ensure(ctx context.Context, ids map[string]string) (map[string]*dataKey, error) {
	ps := make([]string, 0, len(ids))
	for p := range ids {
		ps = append(ps, p)
	}
	out, err := s.keysFor(ctx, ps)
	if err != nil {
		return nil, err
	}
	var rows []credo.SubjectKey
	made := map[string]*dataKey{} // the keys created here, by pseudonym
	for p, id := range ids {
		if out[p] != nil {
			if out[p].id != id {
				return nil, s.subjectCollision(p)
			}
			continue
		}
		raw, err := randomKey()
		if err != nil {
			return nil, err
		}
		k, err := newDataKey(raw)
		if err != nil {
			return nil, err
		}
		wrapped, err := s.wrap.Wrap(raw, wrapAAD(p, s.wrap.ID()))
		if err != nil {
			return nil, err
		}
		k.id = id
		made[p] = k
		rows = append(rows, credo.SubjectKey{Pseudonym: p, KEKID: s.wrap.ID(), Wrapped: wrapped, SealedID: k.seal(idAAD(p), []byte(id))})
	}
	if len(rows) == 0 {
		return out, nil
	}
	stored, err := s.in.EnsureSubjectKeys(ctx, rows)
	if err != nil {
		return nil, err
	}
	mine := make(map[string]*credo.SubjectKey, len(rows))
	for i := range rows {
		mine[rows[i].Pseudonym] = &rows[i]
	}
	for _, row := range stored {
		k := made[row.Pseudonym]
		if w := mine[row.Pseudonym]; k == nil || w.KEKID != row.KEKID || !bytes.Equal(w.Wrapped, row.Wrapped) || !bytes.Equal(w.SealedID, row.SealedID) {
			// Not the key written here (another writer's came first):
			// unwrap the stored one.
			if k, err = s.unwrapRow(row); err != nil {
				return nil, err
			}
		}
		s.remember(row.Pseudonym, k)
		out[row.Pseudonym] = k
	}
	for p := range ids {
		if out[p] == nil {
			return nil, credo.Errorf(credo.EINTERNAL, "the data key of %s was not stored", p)
		}
	}
	return out, nil
}

// subjectCollision is the error of a subject whose pseudonym is another
// subject's (it does not say whose).
func (s *Store) subjectCollision(p string) error {
	return credo.Errorf(credo.EINTERNAL, "pseudonym %s names two identifiers (a collision of its %d-bit keyed hash, or a store tampered with): this subject cannot be recorded (see docs/threat-model.md)", p, s.f.subjectBits)
}

// subjectKey returns a subject's pseudonym and data key; the key is nil
// when the subject has none (never known, or erased) and when the
// pseudonym is another subject's (a collision of the keyed hash: ensure
// refuses to record the second subject, and reads know it as unknown,
// never as the other).
func (s *Store) subjectKey(ctx context.Context, subject string) (string, *dataKey, error) {
	p := s.h.Pseudonym(subject)
	keys, err := s.keysFor(ctx, []string{p})
	if err != nil {
		return p, nil, err
	}
	if k := keys[p]; k != nil && k.id == subject {
		return p, k, nil
	}
	return p, nil, nil
}

// idOf returns the canonical identifier of a pseudonym ("" if its key is
// gone: an erased subject, or none).
func (s *Store) idOf(ctx context.Context, p string) (string, error) {
	if p == "" {
		return "", nil
	}
	ks, err := s.keysFor(ctx, []string{p})
	if err != nil {
		return "", err
	}
	if k := ks[p]; k != nil {
		return k.id, nil
	}
	return "", nil
}

// --- personal fields ---

// personal is what a sealed blob holds: the personal fields of one
// record or event.
// digestMark starts a sealed text field that holds the digest of a text
// rendered from facts, not the text (no notice text starts with it).
const digestMark = "\x00sha256:"

type personal struct {
	CaseRef, EvidenceURI, Name, Reason, Grounds, Statement, HowToObject, TextEN, TextZH, OrgName string
}

// fields lists the personal fields in their fixed order of encoding.
func (pl *personal) fields() [10]*string {
	return [10]*string{&pl.CaseRef, &pl.EvidenceURI, &pl.Name, &pl.Reason, &pl.Grounds, &pl.Statement, &pl.HowToObject, &pl.TextEN, &pl.TextZH, &pl.OrgName}
}

// encode writes the fields in order, each as a uvarint length and its
// bytes: deterministic, and much cheaper than JSON on the hot paths
// (bulk filing, rebuilds). With trim (format v2 on) the trailing empty
// fields are left out: a record's seal holds three fields, not ten.
func (pl *personal) encode(trim bool) []byte {
	fs := pl.fields()
	last := len(fs)
	if trim {
		for last > 0 && *fs[last-1] == "" {
			last--
		}
	}
	n := 0
	for _, f := range fs[:last] {
		n += len(*f) + 2
	}
	b := make([]byte, 0, n)
	for _, f := range fs[:last] {
		b = binary.AppendUvarint(b, uint64(len(*f)))
		b = append(b, *f...)
	}
	return b
}

// decode reads what encode wrote, trimmed or not (the fields missing at
// the end are empty; the seal authenticates the bytes, so only encode
// wrote them).
func (pl *personal) decode(b []byte) bool {
	for _, f := range pl.fields() {
		if len(b) == 0 {
			*f = ""
			continue
		}
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return false
		}
		*f = string(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	return len(b) == 0
}

// The additional data a seal is bound to: what it is of, and whose (a
// seal moved to another subject's event does not open). Built in the
// caller's buffer: opening is on the rebuild's hot path.
func recordAAD(buf []byte, p string) []byte {
	return append(append(buf[:0], "credo record\x00"...), p...)
}

func eventAAD(buf []byte, p string, t credo.EventType) []byte {
	return append(append(append(append(buf[:0], "credo event\x00"...), p...), 0), t...)
}

// sealRecord sets c to the record as the store keeps it.
func (s *Store) sealRecord(c, r *credo.Record, p string, k *dataKey) {
	*c = *r
	pl := (&personal{CaseRef: r.CaseRef, EvidenceURI: r.EvidenceURI, Name: r.SubjectName}).encode(s.f.trim)
	c.Subject, c.CaseRef, c.EvidenceURI, c.SubjectName = p, s.h.CaseRef(r.Authority, r.CaseRef), "", ""
	var buf [96]byte
	c.Sealed = k.seal(recordAAD(buf[:], p), pl)
}

// openRecord opens a stored record in place; false if its key is gone.
func openRecord(r *credo.Record, keys map[string]*dataKey) bool {
	k := keys[r.Subject]
	if k == nil {
		return false
	}
	var buf [96]byte
	b, err := k.open(recordAAD(buf[:], r.Subject), r.Sealed)
	if err != nil {
		return false
	}
	var pl personal
	if !pl.decode(b) {
		return false
	}
	r.Subject, r.CaseRef, r.EvidenceURI, r.SubjectName, r.Sealed = k.id, pl.CaseRef, pl.EvidenceURI, pl.Name, nil
	return true
}

// sealEvent seals a copy of ev (its subject already a pseudonym p) with
// k; ids maps the pseudonyms of the event's other subjects.
func (s *Store) sealEvent(ev *credo.Event, p string, k *dataKey) *personal {
	var pl personal
	ev.Subject = p
	switch {
	case ev.Change != nil:
		pl.Reason, ev.Change.Reason = ev.Change.Reason, ""
	case ev.Dispute != nil:
		pl.Grounds, ev.Dispute.Grounds = ev.Dispute.Grounds, ""
	case ev.Decision != nil:
		pl.Reason, ev.Decision.Reason = ev.Decision.Reason, ""
	case ev.Repair != nil:
		pl.Statement, ev.Repair.Statement = ev.Repair.Statement, ""
	case ev.Refusal != nil:
		pl.Reason, ev.Refusal.Reason = ev.Refusal.Reason, ""
	case ev.Link != nil:
		ev.Link.Org, ev.Link.Person = s.h.Pseudonym(ev.Link.Org), s.h.Pseudonym(ev.Link.Person)
	case ev.Notice != nil:
		n := ev.Notice
		pl.Name, pl.CaseRef, pl.HowToObject, pl.TextEN, pl.TextZH = n.SubjectName, n.CaseRef, n.HowToObject, n.Text.EN, n.Text.ZH
		n.Subject, n.SubjectName, n.HowToObject, n.Text = p, "", "", credo.NoticeText{}
		n.CaseRef = s.h.CaseRef(n.Authority.ID, pl.CaseRef)
		if n.Party != nil {
			party := *n.Party
			pl.OrgName, party.OrgName = party.OrgName, ""
			party.Org = s.h.Pseudonym(party.Org)
			n.Party = &party
		}
	}
	sealed := pl
	if ev.Notice != nil && ev.Notice.Template != 0 {
		// A notice rendered from its facts: like the plain log (see
		// credo.CanonicalEncoding), the seal keeps the facts and not the
		// texts, which are rendered again from them when read. The
		// digests of the texts sent go into the seal in their place: in
		// clear, they would let whoever holds the file confirm a guess of
		// a notice's whole text (a name and a case), even after erasure.
		n := ev.Notice
		sealed.TextEN, sealed.TextZH = digestMark+n.TextSHA256.EN, digestMark+n.TextSHA256.ZH
		n.TextSHA256 = credo.NoticeText{}
	}
	var buf [96]byte
	ev.Sealed = k.seal(eventAAD(buf[:], p, ev.Type), sealed.encode(s.f.trim))
	return &pl
}

// pseudonymsOf lists the pseudonyms a stored event names.
func pseudonymsOf(ev *credo.Event, into []string) []string {
	into = append(into, ev.Subject)
	if ev.Link != nil {
		into = append(into, ev.Link.Org, ev.Link.Person)
	}
	if ev.Notice != nil && ev.Notice.Party != nil {
		into = append(into, ev.Notice.Party.Org)
	}
	return into
}

// openEvent opens a stored event in place. An event whose subject's key
// is gone (an erased subject) is redacted instead: its subject and the
// parties of a link are emptied (the payload keeps only pseudonyms), and
// it reports false.
func openEvent(ev *credo.Event, keys map[string]*dataKey) bool {
	if ev.Subject == "" {
		return true // a policy publication: nothing personal
	}
	if ev.Type == credo.EventRecordFiled && ev.Record != nil {
		if !openRecord(ev.Record, keys) {
			redact(ev)
			return false
		}
		ev.Subject = ev.Record.Subject
		return true
	}
	k := keys[ev.Subject]
	if k == nil {
		redact(ev)
		return false
	}
	var pl personal
	if len(ev.Sealed) > 0 {
		var buf [96]byte
		b, err := k.open(eventAAD(buf[:], ev.Subject, ev.Type), ev.Sealed)
		if err != nil || !pl.decode(b) {
			redact(ev)
			return false
		}
	} else if ev.Type != credo.EventSubjectErased {
		redact(ev) // a subject's event without its seal: not this registry's
		return false
	}
	applyPersonal(ev, k, &pl, keys)
	return true
}

// applyPersonal sets an event's subject and personal fields from its
// opened seal.
func applyPersonal(ev *credo.Event, k *dataKey, pl *personal, keys map[string]*dataKey) {
	ev.Subject, ev.Sealed = k.id, nil
	switch {
	case ev.Change != nil:
		ev.Change.Reason = pl.Reason
	case ev.Dispute != nil:
		ev.Dispute.Grounds = pl.Grounds
	case ev.Decision != nil:
		ev.Decision.Reason = pl.Reason
	case ev.Repair != nil:
		ev.Repair.Statement = pl.Statement
	case ev.Refusal != nil:
		ev.Refusal.Reason = pl.Reason
	case ev.Link != nil:
		ev.Link.Org, ev.Link.Person = idIn(keys, ev.Link.Org), idIn(keys, ev.Link.Person)
	case ev.Notice != nil:
		n := ev.Notice
		n.Subject, n.SubjectName, n.CaseRef, n.HowToObject, n.Text = k.id, pl.Name, pl.CaseRef, pl.HowToObject, credo.NoticeText{EN: pl.TextEN, ZH: pl.TextZH}
		en, okEN := strings.CutPrefix(pl.TextEN, digestMark)
		zh, okZH := strings.CutPrefix(pl.TextZH, digestMark)
		if n.Template != 0 && okEN && okZH {
			// The sealed digests of a notice rendered from its facts (a
			// notice sealed before they were sealed keeps them in clear).
			n.Text, n.TextSHA256 = credo.NoticeText{}, credo.NoticeText{EN: en, ZH: zh}
		}
		if n.Party != nil {
			n.Party.Org, n.Party.OrgName = idIn(keys, n.Party.Org), pl.OrgName
		}
	}
}

func idIn(keys map[string]*dataKey, p string) string {
	if k := keys[p]; k != nil {
		return k.id
	}
	return ""
}

func redact(ev *credo.Event) {
	ev.Subject = ""
	if ev.Link != nil {
		ev.Link.Org, ev.Link.Person = "", ""
	}
}

// openEvents opens stored events in place, loading the keys they need in
// one read; keep reports which opened.
func (s *Store) openEvents(ctx context.Context, evs []credo.Event) ([]bool, error) {
	ps := make([]string, 0, len(evs))
	for i := range evs {
		ps = pseudonymsOf(&evs[i], ps)
	}
	keys, err := s.keysFor(ctx, ps)
	if err != nil {
		return nil, err
	}
	ok := make([]bool, len(evs))
	var erased []string
	for i := range evs {
		if evs[i].Type == credo.EventSubjectErased {
			erased = append(erased, evs[i].Subject)
		}
		ok[i] = openEvent(&evs[i], keys)
	}
	// An erasure another process made: a key this one still holds in
	// memory is dropped (the event read with the subject it names, so
	// that a tailer refreshes the subject's entry).
	for _, p := range erased {
		s.forget(p)
	}
	return ok, nil
}

// --- credo.Store ---

// FileRecords seals the records' personal fields under their subjects'
// data keys (created for new subjects) and files them.
func (s *Store) FileRecords(ctx context.Context, rs []*credo.Record) ([]credo.FileResult, error) {
	if err := storecore.ValidateRecords(rs); err != nil {
		return nil, err
	}
	ids := make(map[string]string, len(rs))
	ps := make([]string, len(rs))
	byID := make(map[string]string, len(rs)) // a subject's records hash once
	for i, r := range rs {
		p, ok := byID[r.Subject]
		if !ok {
			p = s.h.Pseudonym(r.Subject)
			byID[r.Subject] = p
			ids[p] = r.Subject
		}
		ps[i] = p
	}
	keys, err := s.ensure(ctx, ids)
	if err != nil {
		return nil, err
	}
	sealed := make([]*credo.Record, len(rs))
	recs := make([]credo.Record, len(rs)) // one allocation, not one a record
	for i, r := range rs {
		sealed[i] = &recs[i]
		s.sealRecord(sealed[i], r, ps[i], keys[ps[i]])
	}
	res, err := s.in.FileRecords(ctx, sealed)
	if err != nil {
		return nil, s.conflict(ctx, rs, err)
	}
	opened := make([]credo.Record, len(res))
	for i := range res {
		if res[i].Record == nil {
			continue
		}
		// The stored record is the sealed one passed (or, not created,
		// equal to it: SameFiling compares the sealed bytes), so it opens
		// to the caller's fields without decrypting.
		c := &opened[i]
		*c = *res[i].Record
		if c.Subject != ps[i] || !bytes.Equal(c.Sealed, sealed[i].Sealed) {
			if !openRecord(c, keys) {
				return nil, credo.Errorf(credo.EINTERNAL, "a record just filed does not open")
			}
		} else {
			c.Subject, c.CaseRef, c.EvidenceURI, c.SubjectName, c.Sealed = rs[i].Subject, rs[i].CaseRef, rs[i].EvidenceURI, rs[i].SubjectName, nil
		}
		res[i].Record = c
	}
	return res, nil
}

// conflict restates a store's conflict between two filings of one case in
// clear (the store saw only hashes and sealed bytes).
func (s *Store) conflict(ctx context.Context, rs []*credo.Record, err error) error {
	if credo.ErrorCode(err) != credo.ECONFLICT {
		return err
	}
	seen := map[[2]string]*credo.Record{}
	hashes := map[[2]string]string{} // (authority, case hash): the case
	for _, r := range rs {
		key := [2]string{r.Authority, r.CaseRef}
		if o := seen[key]; o != nil && !o.SameFiling(r) {
			return storecore.Conflict("seal.FileRecords", r, o, true)
		}
		seen[key] = r
		hkey := [2]string{r.Authority, s.h.CaseRef(r.Authority, r.CaseRef)}
		if c, ok := hashes[hkey]; ok && c != r.CaseRef {
			return s.caseCollision(r)
		}
		hashes[hkey] = r.CaseRef
		o, oerr := s.recordByHash(ctx, r.Authority, r.CaseRef)
		if oerr == nil && o.CaseRef != r.CaseRef {
			return s.caseCollision(r)
		}
		if oerr == nil && !sameFiling(r, o) {
			return storecore.Conflict("seal.FileRecords", r, o, false)
		}
	}
	return err
}

// caseCollision is the error of a record whose case reference has the
// keyed hash of another case of its authority (which it does not name):
// the store saw the same (authority, case hash) with other sealed bytes
// and refused it as a conflicting filing, never as a re-filing.
func (s *Store) caseCollision(r *credo.Record) error {
	return &credo.Error{Code: credo.ECONFLICT, Op: "seal.FileRecords", Message: fmt.Sprintf(
		"record (authority %s, case %s) cannot be filed: its case reference has the same %d-bit keyed hash as another case of the authority (a collision; see docs/threat-model.md)",
		r.Authority, r.CaseRef, s.f.caseBits)}
}

func sameFiling(r, o *credo.Record) bool {
	c := *r
	c.Sealed = nil
	return c.SameFiling(o)
}

// Append seals the events' personal fields under their subjects' keys
// and appends them.
func (s *Store) Append(ctx context.Context, evs []*credo.Event) ([]*credo.Event, error) {
	sealed, subj, ids, err := s.prepareAppend(ctx, evs)
	if err != nil {
		return nil, err
	}
	keys, err := s.ensure(ctx, ids)
	if err != nil {
		return nil, err
	}
	return s.appendRest(ctx, evs, sealed, subj, keys)
}

// prepareAppend validates and copies the events, and finds the pseudonym
// each is sealed under and the subjects (by pseudonym) whose keys they
// need.
func (s *Store) prepareAppend(ctx context.Context, evs []*credo.Event) (sealed []*credo.Event, subj []string, ids map[string]string, err error) {
	sealed = make([]*credo.Event, len(evs))
	ids = map[string]string{}
	subj = make([]string, len(evs)) // the pseudonym each event is sealed under
	for i, ev := range evs {
		if err := storecore.ValidateEvent(ev, storecore.EventField(len(evs), i)); err != nil {
			return nil, nil, nil, err
		}
		c := storecore.CopyEvent(ev)
		sealed[i] = c
		if ev.Type == credo.EventPolicyPublished {
			continue
		}
		id := ev.Subject
		if id == "" && ev.Link != nil {
			id = ev.Link.Org
		}
		if id != "" {
			subj[i] = s.h.Pseudonym(id)
			ids[subj[i]] = id
		} else {
			p, err := s.subjectOf(ctx, ev)
			if err != nil {
				return nil, nil, nil, err
			}
			subj[i] = p
		}
		add := func(id string) {
			if id != "" {
				ids[s.h.Pseudonym(id)] = id
			}
		}
		if ev.Link != nil {
			add(ev.Link.Org)
			add(ev.Link.Person)
		}
		if ev.Notice != nil && ev.Notice.Party != nil {
			add(ev.Notice.Party.Org)
		}
	}
	return sealed, subj, ids, nil
}

// appendRest is Append once the events are copied and their subjects
// known.
func (s *Store) appendRest(ctx context.Context, evs, sealed []*credo.Event, subj []string, keys map[string]*dataKey) ([]*credo.Event, error) {
	var missing []string
	for _, p := range subj {
		if p != "" && keys[p] == nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		more, err := s.keysFor(ctx, missing)
		if err != nil {
			return nil, err
		}
		for p, k := range more {
			keys[p] = k
		}
	}
	pls := make([]*personal, len(evs))
	for i, c := range sealed {
		if subj[i] == "" {
			continue
		}
		k := keys[subj[i]]
		if k == nil {
			return nil, &credo.Error{Code: credo.ENOTFOUND, Field: storecore.EventField(len(evs), i)("subject"), Message: "the subject of the event has been erased"}
		}
		pls[i] = s.sealEvent(c, subj[i], k)
	}
	out, err := s.in.Append(ctx, sealed)
	if err != nil {
		return nil, err
	}
	for i, ev := range out {
		if len(out) == len(evs) && pls[i] != nil && ev.Subject == subj[i] && bytes.Equal(ev.Sealed, sealed[i].Sealed) {
			// The event as sealed here: its fields are known, no need
			// to decrypt them.
			applyPersonal(ev, keys[subj[i]], pls[i], keys)
			continue
		}
		for _, p := range pseudonymsOf(ev, nil) {
			if p != "" && keys[p] == nil {
				if more, err := s.keysFor(ctx, []string{p}); err == nil && more[p] != nil {
					keys[p] = more[p]
				}
			}
		}
		openEvent(ev, keys)
	}
	return out, nil
}

// subjectOf finds the pseudonym of the subject of an event that leaves it
// to the store to fill in (from the record, dispute or application).
func (s *Store) subjectOf(ctx context.Context, ev *credo.Event) (string, error) {
	var recordID int64
	switch {
	case ev.Change != nil:
		recordID = ev.Change.RecordID
	case ev.Dispute != nil:
		recordID = ev.Dispute.RecordID
	case ev.Repair != nil:
		recordID = ev.Repair.RecordID
	case ev.Notice != nil:
		if ev.Notice.Subject != "" {
			return s.h.Pseudonym(ev.Notice.Subject), nil
		}
		recordID = ev.Notice.RecordID
	case ev.Decision != nil:
		if ev.Decision.RecordID == 0 {
			d, err := s.in.Dispute(ctx, ev.Decision.DisputeID)
			if err != nil {
				return "", err
			}
			return d.Subject, nil
		}
		recordID = ev.Decision.RecordID
	case ev.Refusal != nil:
		if ev.Refusal.RecordID == 0 {
			a, err := s.in.RepairApplication(ctx, ev.Refusal.ApplicationID)
			if err != nil {
				return "", err
			}
			return a.Subject, nil
		}
		recordID = ev.Refusal.RecordID
	default:
		return "", credo.Errorf(credo.EINVALID, "a %s event needs a subject", ev.Type)
	}
	r, err := s.in.Record(ctx, recordID)
	if err != nil {
		return "", err
	}
	return r.Subject, nil
}

func (s *Store) openRecordErr(ctx context.Context, r *credo.Record, err error) (*credo.Record, error) {
	if err != nil {
		return nil, err
	}
	keys, err := s.keysFor(ctx, []string{r.Subject})
	if err != nil {
		return nil, err
	}
	if !openRecord(r, keys) {
		return nil, credo.Errorf(credo.ENOTFOUND, "record %d not found (its subject has been erased)", r.ID)
	}
	return r, nil
}

// Record returns a record, opened (ENOTFOUND once its subject is erased).
func (s *Store) Record(ctx context.Context, id int64) (*credo.Record, error) {
	r, err := s.in.Record(ctx, id)
	return s.openRecordErr(ctx, r, err)
}

// RecordByCase finds a record by the keyed hash of its case reference
// (and not another case's whose hash is the same).
func (s *Store) RecordByCase(ctx context.Context, authority, caseRef string) (*credo.Record, error) {
	r, err := s.recordByHash(ctx, authority, caseRef)
	if err == nil && r.CaseRef != caseRef {
		err = credo.Errorf(credo.ENOTFOUND, "a collision of case hashes")
	}
	if credo.ErrorCode(err) == credo.ENOTFOUND {
		return nil, &credo.Error{Code: credo.ENOTFOUND, Op: "seal.RecordByCase", Message: fmt.Sprintf("no record of authority %s with case %s", authority, caseRef)}
	}
	return r, err
}

// recordByHash returns the record of the authority filed under the keyed
// hash of caseRef, opened: caseRef's, or another case's with the same hash.
func (s *Store) recordByHash(ctx context.Context, authority, caseRef string) (*credo.Record, error) {
	r, err := s.in.RecordByCase(ctx, authority, s.h.CaseRef(authority, caseRef))
	return s.openRecordErr(ctx, r, err)
}

// SubjectEvents returns a subject's events, opened; none for a subject
// whose key is gone (erased) or that never had one.
func (s *Store) SubjectEvents(ctx context.Context, subject string) ([]credo.Event, error) {
	p, k, err := s.subjectKey(ctx, subject)
	if err != nil || k == nil {
		return nil, err
	}
	evs, err := s.in.SubjectEvents(ctx, p)
	if err != nil {
		return nil, err
	}
	ok, err := s.openEvents(ctx, evs)
	if err != nil {
		return nil, err
	}
	out := evs[:0]
	for i := range evs {
		if ok[i] && evs[i].Type != credo.EventSubjectErased {
			out = append(out, evs[i])
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// known reports whether a subject has a data key (is not erased).
func (s *Store) known(ctx context.Context, subject string) (bool, error) {
	_, k, err := s.subjectKey(ctx, subject)
	return err == nil && k != nil, err
}

func (s *Store) idsOf(ctx context.Context, ps []string) ([]string, error) {
	keys, err := s.keysFor(ctx, ps)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range ps {
		if k := keys[p]; k != nil {
			out = append(out, k.id)
		}
	}
	return out, nil
}

// LinkedOrgs returns the organisations a person has been linked to that
// are not erased.
func (s *Store) LinkedOrgs(ctx context.Context, person string) ([]string, error) {
	if ok, err := s.known(ctx, person); !ok {
		return nil, err
	}
	ps, err := s.in.LinkedOrgs(ctx, s.h.Pseudonym(person))
	if err != nil {
		return nil, err
	}
	return s.idsOf(ctx, ps)
}

// LinkedPersons returns the persons linked to an organisation that are
// not erased.
func (s *Store) LinkedPersons(ctx context.Context, org string) ([]string, error) {
	if ok, err := s.known(ctx, org); !ok {
		return nil, err
	}
	ps, err := s.in.LinkedPersons(ctx, s.h.Pseudonym(org))
	if err != nil {
		return nil, err
	}
	return s.idsOf(ctx, ps)
}

// Events returns events of the log, opened; those of erased subjects
// redacted (see openEvent), never skipped: the sequence stays gapless.
func (s *Store) Events(ctx context.Context, after int64, limit int) ([]credo.Event, error) {
	evs, err := s.in.Events(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	_, err = s.openEvents(ctx, evs)
	return evs, err
}

// EventsOfType is Events for some types only.
func (s *Store) EventsOfType(ctx context.Context, after int64, limit int, types []credo.EventType) ([]credo.Event, error) {
	evs, err := s.in.EventsOfType(ctx, after, limit, types)
	if err != nil {
		return nil, err
	}
	_, err = s.openEvents(ctx, evs)
	return evs, err
}

// Subjects calls fn for every subject with events that is not erased.
func (s *Store) Subjects(ctx context.Context, fn func(subject string) error) error {
	var ps []string
	if err := s.in.Subjects(ctx, func(p string) error {
		ps = append(ps, p)
		return nil
	}); err != nil {
		return err
	}
	for len(ps) > 0 {
		n := min(len(ps), 2000)
		ids, err := s.idsOf(ctx, ps[:n])
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := fn(id); err != nil {
				return err
			}
		}
		ps = ps[n:]
	}
	return nil
}

// --- tokens ---

// CreateToken stores a token; a subject token names its subject by
// pseudonym (whose key it creates if needed).
func (s *Store) CreateToken(ctx context.Context, t *credo.Token) error {
	if t.Subject == "" {
		return s.in.CreateToken(ctx, t)
	}
	p := s.h.Pseudonym(t.Subject)
	keys, err := s.ensure(ctx, map[string]string{p: t.Subject})
	if err != nil {
		return err
	}
	c := *t
	c.Subject = p
	if c.Name != "" {
		// A subject token's holder is the subject: the name is theirs,
		// sealed under their key like the rest.
		c.Name = sealedNameMark + base64.RawStdEncoding.EncodeToString(keys[p].seal(tokenNameAAD(p), []byte(c.Name)))
	}
	if err := s.in.CreateToken(ctx, &c); err != nil {
		return err
	}
	t.Created = c.Created
	return nil
}

// sealedNameMark starts the name of a subject token sealed under the
// subject's key (a name stored before names were sealed has none).
const sealedNameMark = "\x00sealed:"

func tokenNameAAD(p string) []byte { return []byte("credo token name\x00" + p) }

func (s *Store) openToken(ctx context.Context, t *credo.Token) (bool, error) {
	if t.Subject == "" {
		return true, nil
	}
	p := t.Subject
	keys, err := s.keysFor(ctx, []string{p})
	if err != nil {
		return false, err
	}
	k := keys[p]
	if sealed, ok := strings.CutPrefix(t.Name, sealedNameMark); ok {
		t.Name = ""
		if b, err := base64.RawStdEncoding.DecodeString(sealed); err == nil && k != nil {
			if name, err := k.open(tokenNameAAD(p), b); err == nil {
				t.Name = string(name)
			}
		}
	}
	if k == nil {
		t.Subject = ""
		return false, nil
	}
	t.Subject = k.id
	return true, nil
}

// TokenByHash returns a token; a subject token of an erased subject is
// not found.
func (s *Store) TokenByHash(ctx context.Context, hash string) (*credo.Token, error) {
	t, err := s.in.TokenByHash(ctx, hash)
	if err != nil {
		return nil, err
	}
	if ok, err := s.openToken(ctx, t); err != nil {
		return nil, err
	} else if !ok {
		return nil, credo.Errorf(credo.ENOTFOUND, "no such token (its subject has been erased)")
	}
	return t, nil
}

// Tokens returns every token; those of erased subjects without a subject.
func (s *Store) Tokens(ctx context.Context) ([]*credo.Token, error) {
	ts, err := s.in.Tokens(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if _, err := s.openToken(ctx, t); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

// --- the check log ---

// LogChecks logs checks under the subjects' pseudonyms (creating the data
// key of a subject checked for the first time, which erasure destroys).
func (s *Store) LogChecks(ctx context.Context, cs []credo.CheckEntry) error {
	if len(cs) == 0 {
		return nil
	}
	out := make([]credo.CheckEntry, len(cs))
	ids := map[string]string{}
	for i, c := range cs {
		out[i] = c
		if c.Subject != "" {
			p := s.h.Pseudonym(c.Subject)
			out[i].Subject = p
			if k := s.cached(p); k == nil {
				ids[p] = c.Subject
			} else if k.id != c.Subject {
				return s.subjectCollision(p)
			}
		}
	}
	if len(ids) > 0 {
		if _, err := s.ensure(ctx, ids); err != nil {
			return err
		}
	}
	return s.in.LogChecks(ctx, out)
}

// Check returns a logged check (ENOTFOUND once its subject is erased).
func (s *Store) Check(ctx context.Context, id string) (*credo.CheckEntry, error) {
	c, err := s.in.Check(ctx, id)
	if err != nil {
		return nil, err
	}
	sid, err := s.idOf(ctx, c.Subject)
	if err != nil {
		return nil, err
	}
	if sid == "" {
		return nil, credo.Errorf(credo.ENOTFOUND, "no check %s", id)
	}
	c.Subject = sid
	return c, nil
}

// ChecksOf returns the checks run on a subject.
func (s *Store) ChecksOf(ctx context.Context, subject string, limit int) ([]credo.CheckEntry, error) {
	p, k, err := s.subjectKey(ctx, subject)
	if err != nil || k == nil {
		return nil, err
	}
	cs, err := s.in.ChecksOf(ctx, p, limit)
	for i := range cs {
		cs[i].Subject = subject
	}
	return cs, err
}

// DeleteChecksOf deletes the checks run on a subject (none when its
// pseudonym is another subject's).
func (s *Store) DeleteChecksOf(ctx context.Context, subject string) (int64, error) {
	p := s.h.Pseudonym(subject)
	keys, err := s.keysFor(ctx, []string{p})
	if err != nil {
		return 0, err
	}
	if k := keys[p]; k != nil && k.id != subject {
		return 0, nil
	}
	return s.in.DeleteChecksOf(ctx, p)
}

// --- the outbox ---

func (s *Store) openDeliveries(ctx context.Context, ds []*credo.Delivery) error {
	for _, d := range ds {
		if len(d.Body) > 0 {
			var ev credo.Event
			if err := json.Unmarshal(d.Body, &ev); err == nil {
				evs := []credo.Event{ev}
				if _, err := s.openEvents(ctx, evs); err != nil {
					return err
				}
				if b, err := json.Marshal(&evs[0]); err == nil {
					d.Body = b
				}
			}
		}
		if IsPseudonym(d.Subject) {
			id, err := s.idOf(ctx, d.Subject)
			if err != nil {
				return err
			}
			d.Subject = id
		}
	}
	return nil
}

// ClaimDeliveries claims deliveries with their events opened (an erased
// subject's event is delivered redacted).
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*credo.Delivery, error) {
	ds, err := s.in.ClaimDeliveries(ctx, now, lease, limit)
	if err != nil {
		return nil, err
	}
	return ds, s.openDeliveries(ctx, ds)
}

// Deliveries lists deliveries, opened.
func (s *Store) Deliveries(ctx context.Context, status string, limit int) ([]*credo.Delivery, error) {
	ds, err := s.in.Deliveries(ctx, status, limit)
	if err != nil {
		return nil, err
	}
	return ds, s.openDeliveries(ctx, ds)
}

// RecordsWithoutNotice returns records without a notice, opened; those of
// erased subjects are left out.
func (s *Store) RecordsWithoutNotice(ctx context.Context, after int64, limit int) ([]*credo.Record, int64, error) {
	rs, examined, err := s.in.RecordsWithoutNotice(ctx, after, limit)
	if err != nil {
		return nil, 0, err
	}
	ps := make([]string, len(rs))
	for i, r := range rs {
		ps[i] = r.Subject
	}
	keys, err := s.keysFor(ctx, ps)
	if err != nil {
		return nil, 0, err
	}
	out := rs[:0]
	for _, r := range rs {
		if openRecord(r, keys) {
			out = append(out, r)
		}
	}
	return out, examined, nil
}

// --- due process ---

// dpEvents caches the opened events of the subjects a list of views names.
type dpEvents map[string][]credo.Event

func (s *Store) dpEventsOf(ctx context.Context, m dpEvents, p string) ([]credo.Event, string, error) {
	id, err := s.idOf(ctx, p)
	if err != nil || id == "" {
		return nil, "", err
	}
	if evs, ok := m[p]; ok {
		return evs, id, nil
	}
	evs, err := s.SubjectEvents(ctx, id)
	m[p] = evs
	return evs, id, err
}

func (s *Store) openDispute(ctx context.Context, m dpEvents, d *credo.DisputeView) (bool, error) {
	evs, id, err := s.dpEventsOf(ctx, m, d.Subject)
	if err != nil || id == "" {
		return false, err
	}
	d.Subject = id
	for _, ev := range evs {
		switch {
		case ev.Record != nil && ev.Record.ID == d.RecordID:
			d.CaseRef = ev.Record.CaseRef
		case ev.Dispute != nil && ev.Dispute.ID == d.ID:
			d.Grounds = ev.Dispute.Grounds
		case ev.Decision != nil && ev.Decision.DisputeID == d.ID:
			d.Reason = ev.Decision.Reason
		}
	}
	return true, nil
}

func (s *Store) openRepair(ctx context.Context, m dpEvents, a *credo.RepairView) (bool, error) {
	evs, id, err := s.dpEventsOf(ctx, m, a.Subject)
	if err != nil || id == "" {
		return false, err
	}
	a.Subject = id
	for _, ev := range evs {
		switch {
		case ev.Record != nil && ev.Record.ID == a.RecordID:
			a.CaseRef = ev.Record.CaseRef
		case ev.Repair != nil && ev.Repair.ID == a.ID:
			a.Statement = ev.Repair.Statement
		case ev.Refusal != nil && ev.Refusal.ApplicationID == a.ID:
			a.Reason = ev.Refusal.Reason
		case ev.Change != nil && ev.Change.ApplicationID == a.ID && ev.Type == credo.EventRepairApproved:
			a.Reason = ev.Change.Reason
		}
	}
	return true, nil
}

// Disputes returns disputes, opened; those of erased subjects left out.
func (s *Store) Disputes(ctx context.Context, f credo.DisputeFilter) ([]credo.DisputeView, error) {
	subject := f.Subject
	if f.Subject != "" {
		f.Subject = s.h.Pseudonym(f.Subject)
	}
	ds, err := s.in.Disputes(ctx, f)
	if err != nil {
		return nil, err
	}
	m := dpEvents{}
	out := ds[:0]
	for i := range ds {
		ok, err := s.openDispute(ctx, m, &ds[i])
		if err != nil {
			return nil, err
		}
		if ok && (subject == "" || ds[i].Subject == subject) { // not a pseudonym's other subject
			out = append(out, ds[i])
		}
	}
	return out, nil
}

// Dispute returns one dispute, opened.
func (s *Store) Dispute(ctx context.Context, id int64) (*credo.DisputeView, error) {
	d, err := s.in.Dispute(ctx, id)
	if err != nil {
		return nil, err
	}
	if ok, err := s.openDispute(ctx, dpEvents{}, d); err != nil {
		return nil, err
	} else if !ok {
		return nil, credo.Errorf(credo.ENOTFOUND, "dispute %d not found", id)
	}
	return d, nil
}

// RepairApplications returns applications, opened; those of erased
// subjects left out.
func (s *Store) RepairApplications(ctx context.Context, f credo.RepairFilter) ([]credo.RepairView, error) {
	subject := f.Subject
	if f.Subject != "" {
		f.Subject = s.h.Pseudonym(f.Subject)
	}
	as, err := s.in.RepairApplications(ctx, f)
	if err != nil {
		return nil, err
	}
	m := dpEvents{}
	out := as[:0]
	for i := range as {
		ok, err := s.openRepair(ctx, m, &as[i])
		if err != nil {
			return nil, err
		}
		if ok && (subject == "" || as[i].Subject == subject) {
			out = append(out, as[i])
		}
	}
	return out, nil
}

// RepairApplication returns one application, opened.
func (s *Store) RepairApplication(ctx context.Context, id int64) (*credo.RepairView, error) {
	a, err := s.in.RepairApplication(ctx, id)
	if err != nil {
		return nil, err
	}
	if ok, err := s.openRepair(ctx, dpEvents{}, a); err != nil {
		return nil, err
	} else if !ok {
		return nil, credo.Errorf(credo.ENOTFOUND, "repair application %d not found", id)
	}
	return a, nil
}

func (s *Store) lookupSecret() [32]byte { return s.lookup }
