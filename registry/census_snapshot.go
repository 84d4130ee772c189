package registry

import (
	"bufio"
	"container/heap"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"credo/ident"
	"credo/policy"
)

// The census state is saved beside the decision table's snapshot
// (FILE.census), after it is built and then at most every
// censusSaveEvery, so that a restart loads it and applies the log's tail
// instead of evaluating every subject again. The file is a header line
// (JSON-free: "credo-census 2 <sha256 of the body>") and a gob body; it
// is used only if its policy and points are the census's, the event it
// stands at is still in the log with the same hash, and its instant is
// not after now. A file of another version (version 1 kept a gob value a
// subject) is not read: the census is built anew from the facts and the
// file replaced.

const censusSaveEvery = 10 * time.Minute

const censusFileMagic = "credo-census 2 "

// censusChunkSize is the subjects a censusChunk holds at most.
const censusChunkSize = 1 << 14

// censusFile is the body's first value. Chunks follow (censusChunk) until
// they hold Subjects subjects, then Listed censusListedFile values, one a
// subject with public entries: neither side holds the whole encoding.
type censusFile struct {
	Policy   string
	Points   int
	At       time.Time
	Seq      int64
	LogHash  string
	Subjects int
	Listed   int
	// The records filed in the last 31 days: FiledN[i] at FiledAt[i]
	// (Unix ns).
	FiledAt []int64
	FiledN  []int32
	// The shapes the chunks' Shape index, and the tiers the shapes'
	// Tiers codes name (code i+1 is Tiers[i]).
	Shapes []censusShapeFile
	Tiers  []censusTierFile
}

type censusShapeFile struct {
	Lists []uint64
	Tiers []uint16
}

type censusTierFile struct {
	Kind uint8
	Name string
}

// censusChunk holds subjects' contributions: the RIC-shaped identifiers'
// keys, then the other identifiers, each with the instant until which it
// holds and its shape (Until and Shape: len(Keys)+len(Names) values).
type censusChunk struct {
	Keys  []uint64
	Names []string
	Until []int64
	Shape []uint32
}

type censusListedFile struct {
	Subject string
	Name    string
	Entries []censusEntryFile
}

type censusEntryFile struct {
	List           string
	Since, Until   time.Time
	UntilFulfilled bool
	Record         bool
	CaseRef        string
	AuthorityID    string
	Rule           string
}

// censusPath is the census state's file, "" if the registry keeps no
// table snapshot.
func (c *CensusCache) censusPath() string {
	if c.reg.snapshot == "" {
		return ""
	}
	return c.reg.snapshot + ".census"
}

// logHashAt returns the hash of the event at seq ("" for seq 0).
func (c *CensusCache) logHashAt(ctx context.Context, seq int64) (string, error) {
	if seq == 0 {
		return "", nil
	}
	evs, err := c.reg.Store().Events(ctx, seq-1, 1)
	if err != nil {
		return "", err
	}
	if len(evs) == 0 || evs[0].Seq != seq {
		return "", errors.New("the event the census stands at is no longer in the log")
	}
	return evs[0].Hash, nil
}

// saveState writes the census state's file (errors are logged: the next
// start builds the census from the facts instead).
func (c *CensusCache) saveState(ctx context.Context, s *censusState) {
	path := c.censusPath()
	if path == "" {
		return
	}
	start := time.Now()
	err := func() error {
		hash, err := c.logHashAt(ctx, s.seq)
		if err != nil {
			return err
		}
		cf := censusFile{Policy: s.hash, Points: s.points, At: s.at, Seq: s.seq, LogHash: hash, Subjects: s.total, Listed: len(s.listed)}
		for ns, n := range s.filed {
			cf.FiledAt, cf.FiledN = append(cf.FiledAt, ns), append(cf.FiledN, n)
		}
		for _, sh := range s.shapes {
			cf.Shapes = append(cf.Shapes, censusShapeFile{Lists: sh.lists, Tiers: sh.tiers})
		}
		for _, t := range s.tierAt {
			cf.Tiers = append(cf.Tiers, censusTierFile{Kind: t.kind, Name: t.name})
		}
		tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		// The body first, after room for the header; then the header.
		header := make([]byte, len(censusFileMagic)+64+1)
		if _, err := tmp.Write(header); err != nil {
			tmp.Close()
			return err
		}
		h := sha256.New()
		var body io.Writer = io.MultiWriter(tmp, h)
		if c.reg.snapshotKey != nil {
			// A sealed registry: the census names subjects, their
			// names and case references, so it is encrypted like the
			// table's snapshot (a random IV, then the body).
			iv := make([]byte, aes.BlockSize)
			if _, err := rand.Read(iv); err != nil {
				tmp.Close()
				return err
			}
			if _, err := body.Write(iv); err != nil {
				tmp.Close()
				return err
			}
			st, err := c.reg.snapshotCipher(iv)
			if err != nil {
				tmp.Close()
				return err
			}
			body = cipher.StreamWriter{S: st, W: body}
		}
		bw := bufio.NewWriterSize(body, 1<<20)
		enc := gob.NewEncoder(bw)
		if err := enc.Encode(&cf); err != nil {
			tmp.Close()
			return err
		}
		if err := s.encodeSubjects(enc); err != nil {
			tmp.Close()
			return err
		}
		if err := bw.Flush(); err != nil {
			tmp.Close()
			return err
		}
		copy(header, censusFileMagic+hex.EncodeToString(h.Sum(nil))+"\n")
		if _, err := tmp.WriteAt(header, 0); err != nil {
			tmp.Close()
			return err
		}
		if err := tmp.Sync(); err != nil {
			tmp.Close()
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		return os.Rename(tmp.Name(), path)
	}()
	if err != nil {
		c.reg.log.Warn("census state not saved (the next start builds the census anew)", "err", err)
		return
	}
	s.saved = time.Now()
	c.reg.log.Info("census state saved", "file", path, "subjects", s.total, "seq", s.seq, "took", time.Since(start).Round(time.Millisecond).String())
}

// encodeSubjects writes the subjects' contributions in chunks, then the
// subjects with public entries.
func (s *censusState) encodeSubjects(enc *gob.Encoder) error {
	var ch censusChunk
	type namedPart struct {
		key uint64
		sc  subjectCensus
	}
	var named []namedPart
	flush := func() error {
		for _, p := range named {
			ch.Names = append(ch.Names, s.subject(p.key))
			ch.Until, ch.Shape = append(ch.Until, p.sc.until), append(ch.Shape, p.sc.shape)
		}
		err := enc.Encode(&ch)
		ch, named = censusChunk{Keys: ch.Keys[:0], Until: ch.Until[:0], Shape: ch.Shape[:0]}, named[:0]
		return err
	}
	n := 0
	if err := s.subs.all(func(k uint64, sc subjectCensus) error {
		if k&censusNamed != 0 {
			named = append(named, namedPart{k, sc})
		} else {
			ch.Keys = append(ch.Keys, k)
			ch.Until, ch.Shape = append(ch.Until, sc.until), append(ch.Shape, sc.shape)
		}
		if n++; len(ch.Keys)+len(named) == censusChunkSize || n == s.total {
			return flush()
		}
		return nil
	}); err != nil {
		return err
	}
	if n != s.total {
		return fmt.Errorf("%d subjects counted, %d kept", s.total, n)
	}
	for k, ls := range s.listed {
		f := censusListedFile{Subject: s.subject(k), Name: ls.name}
		for _, e := range ls.entries {
			f.Entries = append(f.Entries, censusEntryFile{List: s.pol.Lists[e.list].ID, Since: e.since, Until: e.until, UntilFulfilled: e.untilFulfilled,
				Record: e.record, CaseRef: e.caseRef, AuthorityID: e.authorityID, Rule: e.rule})
		}
		if err := enc.Encode(&f); err != nil {
			return err
		}
	}
	return nil
}

// loadState reads the census state's file, if it is there and still
// describes this log under the policy in force; nil otherwise (logged).
func (c *CensusCache) loadState(ctx context.Context, hash string) *censusState {
	path := c.censusPath()
	if path == "" {
		return nil
	}
	start := time.Now()
	s, err := func() (*censusState, error) {
		body, closeFile, err := c.openStateFile(path)
		if body == nil || err != nil {
			return nil, err
		}
		defer closeFile()
		dec := gob.NewDecoder(body)
		var cf censusFile
		if err := dec.Decode(&cf); err != nil {
			return nil, err
		}
		// A state saved under the version before the one in force is
		// loaded under that version if the decision table was re-evaluated
		// incrementally from it (a version published while the server was
		// down, the table started from its snapshot): advance then places
		// the publication as it does one made while running.
		pol := (*policy.Policy)(nil)
		if cf.Policy != hash {
			sc := c.reg.reevaluated.Load()
			if sc == nil || sc.from != cf.Policy || sc.to != hash {
				return nil, nil // another policy: build anew
			}
			for _, v := range c.reg.Engine().Versions() {
				if v.Hash == cf.Policy {
					pol = v.Policy
				}
			}
			if pol == nil {
				return nil, nil
			}
		}
		if cf.Points != c.opts.Points || cf.At.After(c.reg.Now()) {
			return nil, nil // another shape: build anew
		}
		if lh, err := c.logHashAt(ctx, cf.Seq); err != nil || lh != cf.LogHash {
			return nil, fmt.Errorf("the log is not the one the census was saved from (at event %d)", cf.Seq)
		}
		if pol == nil {
			var err error
			if pol, _, err = c.reg.Policy(ctx); err != nil {
				return nil, err
			}
		}
		s := newCensusState(pol, cf.Policy, cf.Points, cf.At)
		s.seq = cf.Seq
		if len(cf.FiledAt) != len(cf.FiledN) {
			return nil, errors.New("the file's filed records are not counted")
		}
		for i, ns := range cf.FiledAt {
			s.filed[ns] += cf.FiledN[i]
		}
		if err := s.decodeSubjects(dec, &cf, c.reg.parser); err != nil {
			return nil, err
		}
		heap.Init(&s.expiry)
		s.saved = time.Now()
		return s, nil
	}()
	if err != nil {
		c.reg.log.Warn("census state not loaded (building it anew)", "file", path, "err", err)
		return nil
	}
	if s != nil {
		c.reg.log.Info("census state loaded", "file", path, "subjects", s.total, "seq", s.seq, "took", time.Since(start).Round(time.Millisecond).String())
	}
	return s
}

// decodeSubjects reads the shapes of a file's header, then its subjects
// and their public entries, checking that they fit the policy.
func (s *censusState) decodeSubjects(dec *gob.Decoder, cf *censusFile, parser *ident.Parser) error {
	for _, t := range cf.Tiers {
		if t.Kind != tierScored && t.Kind != tierWhy {
			return errors.New("a tier of the file is not one")
		}
		s.tierAt = append(s.tierAt, censusTier{t.Kind, t.Name})
		s.tierOf[s.tierAt[len(s.tierAt)-1]] = uint16(len(s.tierAt))
	}
	for i, sh := range cf.Shapes {
		if len(sh.Lists) != s.words*cf.Points || len(sh.Tiers) != len(s.pol.Schemes) {
			return fmt.Errorf("shape %d of the file does not fit the policy", i)
		}
		for _, code := range sh.Tiers {
			if int(code) > len(s.tierAt) {
				return fmt.Errorf("shape %d of the file names no tier", i)
			}
		}
		tiers := make([]censusTier, len(sh.Tiers))
		for k, code := range sh.Tiers {
			if code > 0 {
				tiers[k] = s.tierAt[code-1]
			}
		}
		if s.intern(sh.Lists, tiers) != uint32(i) {
			return fmt.Errorf("shape %d of the file is there twice", i)
		}
	}
	s.subs.base = make([]censusItem, 0, min(max(cf.Subjects, 0), 1<<24))
	s.subs.startBulk()
	for s.total < cf.Subjects {
		var ch censusChunk
		if err := dec.Decode(&ch); err != nil {
			return err
		}
		n := len(ch.Keys) + len(ch.Names)
		if n == 0 || len(ch.Until) != n || len(ch.Shape) != n {
			return errors.New("a chunk of the file is not one")
		}
		for i := range n {
			var k uint64
			if i < len(ch.Keys) {
				if k = ch.Keys[i]; k&censusNamed != 0 {
					return errors.New("a subject of the file is not one")
				}
			} else {
				k = s.key(ch.Names[i-len(ch.Keys)])
			}
			sc := subjectCensus{until: ch.Until[i], shape: ch.Shape[i]}
			if int(sc.shape) >= len(s.shapes) {
				return errors.New("a subject of the file has no shape")
			}
			s.subs.put(k, sc)
			s.count[sc.shape]++
			s.total++
			if sc.until != math.MaxInt64 {
				s.expiry = append(s.expiry, expiryItem{sc.until, k})
			}
		}
	}
	if s.sealBulk(); s.total != cf.Subjects {
		return errors.New("the file's subjects are not its count")
	}
	for range cf.Listed {
		var f censusListedFile
		if err := dec.Decode(&f); err != nil {
			return err
		}
		id, err := parser.Parse(f.Subject)
		if err != nil {
			return err
		}
		ls := &censusListed{id: id, name: f.Name}
		for _, e := range f.Entries {
			j, ok := s.lists[e.List]
			if !ok {
				return fmt.Errorf("an entry of the file is on no list of the policy (%q)", e.List)
			}
			ls.entries = append(ls.entries, censusEntry{list: j, since: e.Since, until: e.Until, untilFulfilled: e.UntilFulfilled,
				record: e.Record, caseRef: e.CaseRef, authorityID: e.AuthorityID, rule: e.Rule})
		}
		k := s.key(id.Canonical)
		if _, ok := s.subs.get(k); !ok || len(ls.entries) == 0 {
			return errors.New("a listed subject of the file is not one of its subjects")
		}
		s.listed[k] = ls
	}
	return nil
}

// openStateFile opens the census state's file: it checks that it is a
// regular file whose body matches the digest on its first line, and
// returns the body, decrypted under the snapshot key if the registry has
// one (nil, and no error, when there is no file). Call done when read.
func (c *CensusCache) openStateFile(path string) (body io.Reader, done func() error, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	br := bufio.NewReaderSize(f, 1<<20)
	line, err := br.ReadString('\n')
	if err != nil || len(line) != len(censusFileMagic)+65 || line[:len(censusFileMagic)] != censusFileMagic {
		return nil, nil, errors.New("not a census state file of this version")
	}
	// The digest first (one pass over the body), then the values.
	h := sha256.New()
	if _, err := io.Copy(h, br); err != nil {
		return nil, nil, err
	}
	if hex.EncodeToString(h.Sum(nil)) != line[len(censusFileMagic):len(line)-1] {
		return nil, nil, errors.New("the file's digest does not match its body")
	}
	if _, err := f.Seek(int64(len(line)), io.SeekStart); err != nil {
		return nil, nil, err
	}
	body = bufio.NewReaderSize(f, 1<<20)
	if c.reg.snapshotKey != nil {
		iv := make([]byte, aes.BlockSize)
		if _, err := io.ReadFull(body, iv); err != nil {
			return nil, nil, err
		}
		st, err := c.reg.snapshotCipher(iv)
		if err != nil {
			return nil, nil, err
		}
		body = cipher.StreamReader{S: st, R: body}
	}
	return body, f.Close, nil
}
