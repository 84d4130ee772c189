package transparency

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"credo"
)

// WitnessPeer is a witness a registry asks to cosign its checkpoints
// (C2SP tlog-witness: the log POSTs add-checkpoint to the witness).
type WitnessPeer struct {
	URL      string
	Verifier note.Verifier
	// size is the size of the last checkpoint the witness cosigned, as
	// far as the log knows (-1: not known; a 409 tells it).
	size int64
}

// ParseWitnessPeer parses serve's --witness flag: "URL,KEY" with KEY the
// witness's public key (or a file holding it).
func ParseWitnessPeer(s string) (*WitnessPeer, error) {
	url, key, ok := strings.Cut(s, ",")
	if !ok || !strings.HasPrefix(url, "http") {
		return nil, credo.FieldErrorf("--witness", "%q: want URL,KEY (the witness's address and public key)", s)
	}
	v, err := ParseWitnessKey(key)
	if err != nil {
		return nil, credo.FieldErrorf("--witness", "%s", credo.ErrorMessage(err))
	}
	return &WitnessPeer{URL: strings.TrimSuffix(url, "/"), Verifier: v, size: -1}, nil
}

// SetWitnesses sets the witnesses whose cosignatures the signer collects
// (call before Run).
func (s *Signer) SetWitnesses(ws []*WitnessPeer) { s.witnesses = ws }

// Witnesses returns the witnesses' verifiers.
func (s *Signer) Witnesses() []note.Verifier {
	vs := make([]note.Verifier, len(s.witnesses))
	for i, w := range s.witnesses {
		vs[i] = w.Verifier
	}
	return vs
}

// Cosign asks every witness to cosign the latest checkpoint and, with the
// cosignatures that verify, makes the latest checkpoint the signed note
// with them appended (what GET /checkpoint and receipts serve). A
// witness that answers that the log forked (422: the checkpoint does not
// extend the one it cosigned) is a fault: the node refuses to serve, as
// when the log does not extend its own last checkpoint. It returns the
// number of cosignatures collected.
func (s *Signer) Cosign(ctx context.Context) int {
	if len(s.witnesses) == 0 {
		return 0
	}
	s.cosignMu.Lock()
	defer s.cosignMu.Unlock()
	cp := s.latest.Load()
	if cp == nil || s.Fault() != nil || cp == s.cosigned {
		return 0
	}
	base := cp.Note
	if n, err := note.Open(cp.Note, note.VerifierList(s.verifier)); err == nil {
		// Only the log's own signature: cosignatures are collected anew.
		base, _ = note.Sign(&note.Note{Text: n.Text}, s.signer)
	}
	var sigs [][]byte
	forked := false
	for _, w := range s.witnesses {
		sig, err := s.addCheckpoint(ctx, w, cp)
		if err != nil {
			if IsFork(err) {
				if forked {
					continue // the first witness's answer is the fault
				}
				err := fmt.Errorf("witness %s refuses to cosign the checkpoint of %d events: %v", w.Verifier.Name(), cp.Size, err)
				s.fault.Store(&err)
				s.logger.Error("transparency: a witness reports the log forked: refusing to serve", "witness", w.Verifier.Name(), "url", w.URL, "size", cp.Size, "error", err.Error())
				forked = true
				continue
			}
			s.logger.Warn("transparency: no cosignature from a witness", "witness", w.Verifier.Name(), "url", w.URL, "error", err.Error())
			continue
		}
		sigs = append(sigs, sig)
	}
	if forked || len(sigs) == 0 {
		return 0
	}
	signed := &Signed{Checkpoint: cp.Checkpoint, Note: append(bytes.Clone(base), bytes.Join(sigs, nil)...)}
	if s.latest.CompareAndSwap(cp, signed) {
		s.cosigned = signed
	}
	return len(sigs)
}

// addCheckpoint runs add-checkpoint against w, learning its size from a
// 409 once, and returns its verified cosignature line.
func (s *Signer) addCheckpoint(ctx context.Context, w *WitnessPeer, cp *Signed) ([]byte, error) {
	for try := 0; try < 2; try++ {
		old := max(w.size, 0)
		if old > cp.Size {
			return nil, &WitnessError{Status: http.StatusUnprocessableEntity, Msg: fmt.Sprintf("the witness cosigned a checkpoint of %d events; the log has %d", old, cp.Size)}
		}
		var proof []tlog.Hash
		if old > 0 && old < cp.Size {
			var err error
			if proof, err = Consistency(ctx, s.log, old, cp.Size); err != nil {
				return nil, err
			}
		}
		status, body, err := post(ctx, w.URL+"/add-checkpoint", AddCheckpointRequest(old, proof, cp.Note))
		if err != nil {
			return nil, err
		}
		switch status {
		case http.StatusOK:
			text := cp.Checkpoint.Text()
			if _, err := note.Open(append([]byte(text+"\n"), body...), note.VerifierList(w.Verifier)); err != nil {
				return nil, fmt.Errorf("its cosignature does not verify: %v", err)
			}
			w.size = cp.Size
			return body, nil
		case http.StatusConflict:
			n, err := strconv.ParseInt(strings.TrimSpace(string(body)), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("409 without a size: %q", body)
			}
			w.size = n
			continue
		default:
			return nil, &WitnessError{Status: status, Msg: strings.TrimSpace(string(body))}
		}
	}
	return nil, fmt.Errorf("the witness's size keeps changing")
}

var witnessClient = &http.Client{Timeout: 10 * time.Second}

func post(ctx context.Context, url string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := witnessClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, b, err
}
