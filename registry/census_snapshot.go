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
)

// The census state is saved beside the decision table's snapshot
// (FILE.census), after it is built and then at most every
// censusSaveEvery, so that a restart loads it and applies the log's tail
// instead of evaluating every subject again. The file is a header line
// (JSON-free: "credo-census 1 <sha256 of the body>") and a gob body; it
// is used only if its policy and points are the census's, the event it
// stands at is still in the log with the same hash, and its instant is
// not after now.

const censusSaveEvery = 10 * time.Minute

const censusFileMagic = "credo-census 1 "

// censusFile is the body's first value; Subjects values follow, one
// censusContribFile each (one gob value a subject, so that neither side
// holds the whole encoding).
type censusFile struct {
	Policy   string
	Points   int
	At       time.Time
	Seq      int64
	LogHash  string
	Subjects int
	Filed    []int64
}

type censusContribFile struct {
	Subject string
	Until   int64
	Lists   []uint64
	Tiers   []string
	Lists2  []string // the lists of Entries, in order
	Entries []ListEntry
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
		cf := censusFile{Policy: s.hash, Points: s.points, At: s.at, Seq: s.seq, LogHash: hash, Subjects: len(s.subs), Filed: s.filed}
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
		for subject, ct := range s.subs {
			f := censusContribFile{Subject: subject, Until: ct.until, Lists: ct.lists, Tiers: ct.tiers}
			for _, la := range ct.entries {
				f.Lists2 = append(f.Lists2, la.list)
				f.Entries = append(f.Entries, la.e)
			}
			if err := enc.Encode(&f); err != nil {
				tmp.Close()
				return err
			}
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
	c.reg.log.Info("census state saved", "file", path, "subjects", len(s.subs), "seq", s.seq, "took", time.Since(start).Round(time.Millisecond).String())
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
		if cf.Policy != hash || cf.Points != c.opts.Points || cf.At.After(c.reg.Now()) {
			return nil, nil // another policy or shape: build anew
		}
		if lh, err := c.logHashAt(ctx, cf.Seq); err != nil || lh != cf.LogHash {
			return nil, fmt.Errorf("the log is not the one the census was saved from (at event %d)", cf.Seq)
		}
		pol, _, err := c.reg.Policy(ctx)
		if err != nil {
			return nil, err
		}
		s := newCensusState(pol, hash, cf.Points, cf.At)
		s.seq, s.filed = cf.Seq, cf.Filed
		words := max((len(pol.Lists)+63)/64, 1)
		for i := range cf.Subjects {
			var f censusContribFile
			if err := dec.Decode(&f); err != nil {
				return nil, err
			}
			subject := f.Subject
			if len(f.Lists) != words*cf.Points || len(f.Tiers) != len(pol.Schemes) || len(f.Lists2) != len(f.Entries) {
				return nil, fmt.Errorf("subject %d of the file does not fit the policy", i)
			}
			ct := &contrib{until: f.Until, lists: f.Lists, tiers: f.Tiers}
			for j := range f.Entries {
				ct.entries = append(ct.entries, listedAs{f.Lists2[j], f.Entries[j]})
			}
			s.subs[subject] = ct
			s.apply(ct, 1)
			if len(ct.entries) > 0 {
				s.listed[subject] = true
			}
			if ct.until != math.MaxInt64 {
				s.expiry = append(s.expiry, expiryItem{ct.until, subject})
			}
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
		c.reg.log.Info("census state loaded", "file", path, "subjects", len(s.subs), "seq", s.seq, "took", time.Since(start).Round(time.Millisecond).String())
	}
	return s
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
