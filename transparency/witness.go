package transparency

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"credo"
)

// Witness is an independent party's witness of one log (C2SP
// tlog-witness): it cosigns a checkpoint of the log only if the log's key
// signed it and it is consistent with the last checkpoint the witness
// cosigned, which it keeps in a state file. A log that shows it a fork
// (a checkpoint that does not extend the one it cosigned) gets no
// cosignature, and the witness says so in its log.
type Witness struct {
	log      note.Verifier
	cosigner *Cosigner
	state    string
	logger   *slog.Logger

	mu     sync.Mutex
	latest *Signed // the last checkpoint cosigned (nil: none yet)
	alarm  error   // the first fork seen
}

// NewWitness returns a witness of the log whose checkpoints verify with
// logKey, cosigning with cosigner, keeping its state in stateFile ("":
// in memory only).
func NewWitness(logKey note.Verifier, cosigner *Cosigner, stateFile string, logger *slog.Logger) (*Witness, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w := &Witness{log: logKey, cosigner: cosigner, state: stateFile, logger: logger}
	if stateFile != "" {
		b, err := os.ReadFile(stateFile)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, credo.Errorf(credo.EINVALID, "witness state: %v", err)
		default:
			c, err := OpenCheckpoint(b, logKey)
			if err != nil {
				return nil, credo.Errorf(credo.EINVALID, "witness state %s: %v", stateFile, credo.ErrorMessage(err))
			}
			w.latest = c
		}
	}
	return w, nil
}

// Latest is the last checkpoint the witness cosigned (nil: none).
func (w *Witness) Latest() *Signed {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.latest
}

// Alarm is the first fork the witness saw (nil: none).
func (w *Witness) Alarm() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.alarm
}

// WitnessError is a refusal to cosign, with the HTTP status of C2SP
// tlog-witness: 400 a malformed request, 403 a checkpoint the log's key
// did not sign, 409 an old size that is not the witness's latest (Size
// tells it), 422 a consistency proof that does not verify — a fork.
type WitnessError struct {
	Status int
	Size   int64 // the witness's latest size, for 409
	Msg    string
}

func (e *WitnessError) Error() string { return e.Msg }

// IsFork reports whether err is a witness's refusal because the log does
// not extend the checkpoint it cosigned.
func IsFork(err error) bool {
	var we *WitnessError
	return errors.As(err, &we) && we.Status == http.StatusUnprocessableEntity
}

// AddCheckpoint is the add-checkpoint operation: the log claims cp
// extends the witness's latest checkpoint, of size old, with proof. It
// returns the witness's cosignature line(s) of cp.
func (w *Witness) AddCheckpoint(old int64, proof tlog.TreeProof, cpNote []byte) ([]byte, error) {
	cp, err := OpenCheckpoint(cpNote, w.log)
	if err != nil {
		return nil, &WitnessError{Status: http.StatusForbidden, Msg: credo.ErrorMessage(err)}
	}
	if old > cp.Size {
		return nil, &WitnessError{Status: http.StatusBadRequest, Msg: fmt.Sprintf("old size %d is beyond the checkpoint's %d", old, cp.Size)}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var have int64
	if w.latest != nil {
		have = w.latest.Size
	}
	if old != have {
		return nil, &WitnessError{Status: http.StatusConflict, Size: have, Msg: fmt.Sprintf("old size %d is not the witness's latest size %d", old, have)}
	}
	if w.latest != nil {
		ok := false
		if old == cp.Size {
			ok = len(proof) == 0 && cp.Root == w.latest.Root
		} else {
			ok = tlog.CheckTree(proof, cp.Size, cp.Root, old, w.latest.Root) == nil
		}
		if !ok {
			err := &WitnessError{Status: http.StatusUnprocessableEntity, Msg: fmt.Sprintf("the log forked: its checkpoint of %d events (root %s) is not consistent with the checkpoint of %d events (root %s) this witness cosigned", cp.Size, b64(cp.Root), w.latest.Size, b64(w.latest.Root))}
			if w.alarm == nil {
				w.alarm = err
			}
			w.logger.Error("witness: refusing to cosign: the log forked", "origin", cp.Origin, "size", cp.Size, "root", b64(cp.Root), "cosigned_size", w.latest.Size, "cosigned_root", b64(w.latest.Root))
			return nil, err
		}
	}
	if w.state != "" && (w.latest == nil || cp.Size > w.latest.Size) {
		if err := writeFileAtomic(w.state, cp.Note); err != nil {
			return nil, fmt.Errorf("keeping the witness state: %w", err)
		}
	}
	if w.latest == nil || cp.Size > w.latest.Size {
		w.latest = cp
	}
	return w.cosign(cp.Checkpoint)
}

// cosign returns the witness's cosignature line of c.
func (w *Witness) cosign(c Checkpoint) ([]byte, error) {
	text := c.Text()
	msg, err := note.Sign(&note.Note{Text: text}, w.cosigner)
	if err != nil {
		return nil, err
	}
	return msg[len(text)+1:], nil
}

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// AddCheckpointRequest is the body of a C2SP tlog-witness add-checkpoint
// request: "old N", the consistency proof's hashes one a line, a blank
// line, and the signed checkpoint.
func AddCheckpointRequest(old int64, proof tlog.TreeProof, cpNote []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", old)
	for _, h := range proof {
		b.WriteString(b64(h) + "\n")
	}
	b.WriteString("\n")
	b.Write(cpNote)
	return b.Bytes()
}

// ParseAddCheckpointRequest parses an add-checkpoint request body.
func ParseAddCheckpointRequest(body []byte) (old int64, proof tlog.TreeProof, cpNote []byte, err error) {
	head, rest, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		return 0, nil, nil, fmt.Errorf("want the old size and proof, a blank line, and the checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	v, ok := strings.CutPrefix(lines[0], "old ")
	if !ok {
		return 0, nil, nil, fmt.Errorf("line 1: want \"old <size>\"")
	}
	if old, err = strconv.ParseInt(v, 10, 64); err != nil || old < 0 {
		return 0, nil, nil, fmt.Errorf("line 1: bad old size %q", v)
	}
	for i, l := range lines[1:] {
		h, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(h) != tlog.HashSize {
			return 0, nil, nil, fmt.Errorf("line %d: not a base64 hash", i+2)
		}
		proof = append(proof, tlog.Hash(h))
	}
	return old, proof, rest, nil
}

// Handler serves POST /add-checkpoint (C2SP tlog-witness) and GET
// /checkpoint: the last checkpoint the witness cosigned, with its
// cosignature.
func (w *Witness) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-checkpoint", func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, 1<<16))
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		old, proof, cpNote, err := ParseAddCheckpointRequest(body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		sig, err := w.AddCheckpoint(old, proof, cpNote)
		var we *WitnessError
		switch {
		case errors.As(err, &we) && we.Status == http.StatusConflict:
			rw.Header().Set("Content-Type", "text/x.tlog.size")
			rw.WriteHeader(http.StatusConflict)
			fmt.Fprintf(rw, "%d\n", we.Size)
		case errors.As(err, &we):
			http.Error(rw, we.Msg, we.Status)
		case err != nil:
			http.Error(rw, err.Error(), http.StatusInternalServerError)
		default:
			rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
			rw.Write(sig)
		}
	})
	mux.HandleFunc("GET /checkpoint", func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		c := w.latest
		w.mu.Unlock()
		if c == nil {
			http.Error(rw, "no checkpoint cosigned yet", http.StatusNotFound)
			return
		}
		sig, err := w.cosign(c.Checkpoint)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.Write(append(bytes.Clone(c.Note), sig...))
	})
	return mux
}

// Follow is one round of a witness that follows the log itself, not
// waiting for the log to call: it fetches the log's latest checkpoint
// (GET logURL/checkpoint) and the proof that it extends the witness's
// (GET logURL/v1/proofs/consistency), and cosigns it as add-checkpoint
// would. A log that serves the public a fork is caught even if it never
// shows the witness. It returns the checkpoint cosigned.
func (w *Witness) Follow(ctx context.Context, client *http.Client, logURL string) (*Signed, error) {
	logURL = strings.TrimSuffix(logURL, "/")
	cpNote, err := httpGet(ctx, client, logURL+"/checkpoint")
	if err != nil {
		return nil, err
	}
	cp, err := OpenCheckpoint(cpNote, w.log)
	if err != nil {
		return nil, err
	}
	var old int64
	if l := w.Latest(); l != nil {
		old = l.Size
	}
	var proof tlog.TreeProof
	if old > 0 && old < cp.Size {
		body, err := httpGet(ctx, client, fmt.Sprintf("%s/v1/proofs/consistency?old=%d&new=%d", logURL, old, cp.Size))
		if err != nil {
			return nil, err
		}
		var p struct {
			Proof []tlog.Hash `json:"proof"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, fmt.Errorf("consistency proof: %w", err)
		}
		proof = p.Proof
	}
	if old > cp.Size {
		err := &WitnessError{Status: http.StatusUnprocessableEntity, Msg: fmt.Sprintf("the log forked or was cut: it serves a checkpoint of %d events, this witness cosigned %d", cp.Size, old)}
		w.mu.Lock()
		if w.alarm == nil {
			w.alarm = err
		}
		w.mu.Unlock()
		w.logger.Error("witness: the log serves a checkpoint older than the one cosigned", "size", cp.Size, "cosigned_size", old)
		return nil, err
	}
	if _, err := w.AddCheckpoint(old, proof, cpNote); err != nil {
		return nil, err
	}
	return cp, nil
}

func httpGet(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}
