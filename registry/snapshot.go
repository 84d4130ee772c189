package registry

import (
	"bufio"
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"credo"
	"credo/engine"
)

// A snapshot of the decision table is a file beside the store: one JSON
// header line naming the log position it reflects, then the table in its
// binary form (engine.(*Table).WriteTo). Opening a registry loads it when
// it was built under the policy version in force and the log still holds
// its position, then refreshes only the subjects of the events after that
// position; otherwise the table is rebuilt from the whole log and a new
// snapshot written. The log stays the source of truth: a snapshot that is
// missing, stale beyond use, corrupt or from another log is only a slower
// start.
//
// The header is bound to its body: it carries the SHA-256 of everything
// after the header line and the number of subjects the body holds, so a
// header from this registry spliced onto a body from another one (under
// the same policy) is refused rather than answered from. Only a regular
// file is read: a FIFO or device at the path is refused with a log line
// instead of hanging the start.

const snapshotFormat = 2

// bodyPlaceholder stands for the body's digest in the header while the
// body is written; the digest then overwrites it in place.
var bodyPlaceholder = strings.Repeat("0", 64)

// subjectsPlaceholderN stands for the number of subjects likewise: its
// digits are the room the number is written into.
const (
	subjectsPlaceholderN = 999_999_999_999
	subjectsPlaceholder  = "999999999999"
)

type snapshotHeader struct {
	Format   int       `json:"format"`
	Policy   string    `json:"policy"`   // hash of the version the table decides under
	Seq      int64     `json:"seq"`      // the table reflects every event up to here
	LogHash  string    `json:"log_hash"` // hash of event Seq (empty for 0)
	Built    time.Time `json:"built"`    // when the snapshot was written
	Subjects int       `json:"subjects"` // entries of their own
	// BodySHA256 is the hex SHA-256 of the rest of the file: the table
	// in its binary form.
	BodySHA256 string `json:"body_sha256"`
	// IV is set when the body is encrypted (AES-256-CTR under
	// Options.SnapshotKey, from this IV): in a sealed registry the table,
	// which names subjects, is not kept in clear.
	IV string `json:"iv,omitempty"`
}

// snapshotBody returns the reader of a snapshot's body: decrypted when
// the header says it is encrypted, which it must be in a sealed registry.
func (r *Registry) snapshotBody(hdr *snapshotHeader, br io.Reader) (io.Reader, error) {
	switch {
	case hdr.IV == "" && r.snapshotKey != nil:
		return nil, fmt.Errorf("the body is not encrypted, and this registry is sealed")
	case hdr.IV != "" && r.snapshotKey == nil:
		return nil, fmt.Errorf("the body is encrypted, and no key was given")
	case hdr.IV == "":
		return br, nil
	}
	iv, err := hex.DecodeString(hdr.IV)
	if err != nil || len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("bad iv in the header")
	}
	st, err := r.snapshotCipher(iv)
	if err != nil {
		return nil, err
	}
	return cipher.StreamReader{S: st, R: br}, nil
}

// snapshotCipher returns the stream that encrypts (or decrypts) a
// snapshot's body from iv under the registry's snapshot key.
func (r *Registry) snapshotCipher(iv []byte) (cipher.Stream, error) {
	b, err := aes.NewCipher(r.snapshotKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewCTR(b, iv), nil
}

// maxCatchUp bounds the events a snapshot may be behind by, as a share of
// the log: past it, a full rebuild streams the log faster than refreshing
// subject by subject.
const maxCatchUpShare = 4 // at most a quarter of the log

// logPos is a position in the event log: a sequence number and the hash of
// the event there ("" for 0).
type logPos struct {
	seq  int64
	hash string
}

// loadSnapshot returns the table from the snapshot file, brought up to the
// head of the log, and the position it reflects; or nil (having logged
// why) when a rebuild is needed.
func (r *Registry) loadSnapshot(ctx context.Context, ver engine.Version, now time.Time) (*engine.Table, logPos) {
	if r.snapshot == "" {
		return nil, logPos{}
	}
	start := time.Now()
	t, hdr, err := r.readSnapshot(ctx, ver, now)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			r.log.Warn("decision table snapshot not used: rebuilding from the log", "file", r.snapshot, "reason", err.Error())
		}
		return nil, logPos{}
	}
	loaded := time.Since(start)
	// The head before catching up: every event up to it is applied below.
	seq, hash, err := r.store.Head(ctx)
	if err != nil {
		r.log.Warn("decision table snapshot not used: rebuilding from the log", "file", r.snapshot, "reason", err.Error())
		return nil, logPos{}
	}
	n, err := r.catchUp(ctx, t, hdr.Seq, now)
	if err != nil {
		r.log.Warn("decision table snapshot not used: rebuilding from the log", "file", r.snapshot, "reason", err.Error())
		return nil, logPos{}
	}
	r.log.Info("decision table loaded from snapshot", "subjects", t.Len(), "policy", short(ver.Hash),
		"snapshot_seq", hdr.Seq, "head", seq, "events_after", n, "read", loaded.Round(time.Millisecond), "took", time.Since(start).Round(time.Millisecond))
	return t, logPos{seq, hash}
}

// snapshotPolicy returns the hash of the version the snapshot file was
// written under ("" without a readable one).
func (r *Registry) snapshotPolicy() string {
	if hdr := r.snapshotHeaderOnDisk(); hdr != nil {
		return hdr.Policy
	}
	return ""
}

// snapshotHeaderOnDisk returns the header of the snapshot file (nil
// without a readable one).
func (r *Registry) snapshotHeaderOnDisk() *snapshotHeader {
	if r.snapshot == "" {
		return nil
	}
	fi, err := os.Stat(r.snapshot)
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(r.snapshot)
	if err != nil {
		return nil
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, 4096)).ReadBytes('\n')
	var hdr snapshotHeader
	if err != nil || json.Unmarshal(line, &hdr) != nil {
		return nil
	}
	return &hdr
}

func (r *Registry) readSnapshot(ctx context.Context, ver engine.Version, now time.Time) (*engine.Table, *snapshotHeader, error) {
	// Opening a FIFO for reading blocks until a writer comes: look first.
	fi, err := os.Stat(r.snapshot)
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("not a regular file (%s): refused", fi.Mode().Type())
	}
	f, err := os.Open(r.snapshot)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if fi2, err := f.Stat(); err != nil || !os.SameFile(fi, fi2) {
		return nil, nil, fmt.Errorf("the file changed while it was opened")
	}
	br := bufio.NewReaderSize(f, 1<<20)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return nil, nil, fmt.Errorf("no header line: %w", err)
	}
	var hdr snapshotHeader
	if err := json.Unmarshal(line, &hdr); err != nil {
		return nil, nil, fmt.Errorf("bad header line: %v", err)
	}
	if hdr.Format != snapshotFormat {
		return nil, nil, fmt.Errorf("format %d, not %d", hdr.Format, snapshotFormat)
	}
	if hdr.Policy != ver.Hash {
		return nil, nil, fmt.Errorf("built under policy %s, not %s (the version in force)", short(hdr.Policy), short(ver.Hash))
	}
	head, _, err := r.store.Head(ctx)
	if err != nil {
		return nil, nil, err
	}
	if hdr.Seq > head {
		return nil, nil, fmt.Errorf("built at event %d, past the head of the log (%d): another log?", hdr.Seq, head)
	}
	if hdr.Seq > 0 {
		evs, err := r.store.Events(ctx, hdr.Seq-1, 1)
		if err != nil {
			return nil, nil, err
		}
		if len(evs) != 1 || evs[0].Seq != hdr.Seq || evs[0].Hash != hdr.LogHash {
			return nil, nil, fmt.Errorf("event %d of the log is not the one the snapshot was built at: another log?", hdr.Seq)
		}
	}
	if behind := head - hdr.Seq; behind > 1000 && behind > head/maxCatchUpShare {
		return nil, nil, fmt.Errorf("%d events behind the log (of %d): a rebuild is faster", behind, head)
	}
	if len(hdr.BodySHA256) != len(bodyPlaceholder) || hdr.BodySHA256 == bodyPlaceholder {
		return nil, nil, fmt.Errorf("the header carries no digest of its body")
	}
	body, err := r.snapshotBody(&hdr, br)
	if err != nil {
		return nil, nil, err
	}
	h := sha256.New()
	t, err := engine.ReadTable(io.TeeReader(body, h), ver.Policy, ver.Hash, r.loader(ctx), now)
	if err != nil {
		return nil, nil, err
	}
	if _, err := io.Copy(h, body); err != nil {
		return nil, nil, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != hdr.BodySHA256 {
		return nil, nil, fmt.Errorf("the body is not the one its header was written with (SHA-256 %s, the header says %s): spliced from another snapshot?", short(got), short(hdr.BodySHA256))
	}
	if t.Len() != hdr.Subjects {
		return nil, nil, fmt.Errorf("the body holds %d subjects, its header says %d", t.Len(), hdr.Subjects)
	}
	return t, &hdr, nil
}

// catchUp refreshes the entries of the subjects of every event after seq
// (and of the persons linked to organisations among them). It returns how
// many events it read.
func (r *Registry) catchUp(ctx context.Context, t *engine.Table, seq int64, now time.Time) (int, error) {
	read := func(ctx context.Context, after int64, limit int) ([]credo.Event, error) {
		return r.store.EventsOfType(ctx, after, limit, engine.EventTypes)
	}
	var subjects []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			subjects = append(subjects, s)
		}
	}
	n := 0
	for {
		evs, err := read(ctx, seq, 20000)
		if err != nil {
			return 0, err
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			seq = ev.Seq
			n++
			add(ev.Subject)
			if ev.Link != nil {
				add(ev.Link.Person)
			}
		}
	}
	if err := r.refreshTable(ctx, t, now, subjects); err != nil {
		return n, err
	}
	return n, nil
}

// SaveSnapshot writes the current decision table to the snapshot file
// (Options.Snapshot), atomically; call it on a clean shutdown. The snapshot
// stands at the position the table was built or loaded at, not at the
// head: the table has followed this registry's own changes since, but not
// those other processes wrote to the store (a `credo ingest` beside a
// server), so the next start reapplies every event after that position.
// It does nothing without a snapshot file or a table.
func (r *Registry) SaveSnapshot(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := r.current.Load()
	if r.snapshot == "" || r.noTable || v == nil || v.table == nil {
		return nil
	}
	pos := v.builtAt
	// A tailing node's table reflects every event up to its position.
	if p := r.Position(); p > pos.seq && r.current.Load() == v {
		evs, err := r.store.Events(ctx, p-1, 1)
		if err == nil && len(evs) == 1 && evs[0].Seq == p {
			pos = logPos{p, evs[0].Hash}
		}
	}
	// The snapshot this registry wrote of this table at this position,
	// with no event appended since, stands: the same table again (a
	// server stopped just after its start, or the demo with --no-serve,
	// wrote it twice in a row).
	if head, _, err := r.store.Head(ctx); err == nil && head == pos.seq && r.written.table == v.table && r.written.pos == pos {
		if hdr := r.snapshotHeaderOnDisk(); hdr != nil && hdr.Format == snapshotFormat &&
			hdr.Policy == v.table.PolicyHash() && hdr.Seq == pos.seq && hdr.LogHash == pos.hash {
			return nil
		}
	}
	return r.writeSnapshot(v.table, pos)
}

// writeSnapshot writes a table that reflects every event up to pos: to a
// temporary file, synced, then renamed over the snapshot, so that a crash
// leaves the old snapshot or the new one.
func (r *Registry) writeSnapshot(t *engine.Table, pos logPos) error {
	if r.snapshot == "" {
		return nil
	}
	if g := r.snapshotGate.Load(); g != nil && !(*g)() {
		return errors.New("the store's check at open failed: a table built from projections in doubt is not saved")
	}
	start := time.Now()
	hdr := snapshotHeader{Format: snapshotFormat, Policy: t.PolicyHash(), Seq: pos.seq, LogHash: pos.hash,
		Built: r.now().UTC(), Subjects: subjectsPlaceholderN, BodySHA256: bodyPlaceholder}
	var iv []byte
	if r.snapshotKey != nil {
		iv = make([]byte, aes.BlockSize)
		if _, err := rand.Read(iv); err != nil {
			return err
		}
		hdr.IV = hex.EncodeToString(iv)
	}
	line, err := json.Marshal(&hdr)
	if err != nil {
		return err
	}
	digestAt := int64(bytes.Index(line, []byte(`"body_sha256":"`+bodyPlaceholder)) + len(`"body_sha256":"`))
	subjectsAt := int64(bytes.Index(line, []byte(`"subjects":`+subjectsPlaceholder)) + len(`"subjects":`))
	dir := filepath.Dir(r.snapshot)
	f, err := os.CreateTemp(dir, filepath.Base(r.snapshot)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("writing the decision table snapshot: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		return fail(err)
	}
	h := sha256.New()
	var body io.Writer = f
	if iv != nil {
		st, err := r.snapshotCipher(iv)
		if err != nil {
			return fail(err)
		}
		body = cipher.StreamWriter{S: st, W: f}
	}
	size, entries, err := t.WriteEntries(io.MultiWriter(body, h))
	if err != nil {
		return fail(err)
	}
	// Into the header, in place: the body's digest, and the number of
	// subjects it holds (a refresh during the write may have added some
	// since the header was made), right-aligned in the room left for it
	// (JSON allows the leading spaces).
	if _, err := f.WriteAt([]byte(hex.EncodeToString(h.Sum(nil))), digestAt); err != nil {
		return fail(err)
	}
	hdr.Subjects = entries
	if _, err := f.WriteAt([]byte(fmt.Sprintf("%*d", len(subjectsPlaceholder), entries)), subjectsAt); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, r.snapshot); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing the decision table snapshot: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the rename durable; not every file system supports it
		d.Close()
	}
	r.written.table, r.written.pos = t, pos
	r.log.Info("decision table snapshot written", "file", r.snapshot, "subjects", hdr.Subjects, "seq", pos.seq,
		"bytes", size, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
