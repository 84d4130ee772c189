package simulate_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"credo"
	"credo/simulate"
)

// TestH03RunDraft: the simulation service the API and the portal share
// answers a draft that does not lint with its FILE:LINE messages, an empty
// one at the policy field, one simulation at a time (ErrBusy while
// another runs), and a redacted report unless admin.
func TestH03RunDraft(t *testing.T) {
	reg, _, _ := city(t)
	ctx := context.Background()
	_, src := loadPolicy(t, "testdata/draft.yaml")

	_, err := simulate.RunDraft(ctx, reg, []byte("version: 1\nbogus: [\n"), time.Time{}, simulate.Options{}, true)
	var de *simulate.DraftError
	if !errors.As(err, &de) || len(de.Messages) == 0 {
		t.Errorf("a draft that does not lint: %v, want a DraftError with messages", err)
	}
	_, err = simulate.RunDraft(ctx, reg, []byte(" \n"), time.Time{}, simulate.Options{}, true)
	if credo.ErrorCode(err) != credo.EINVALID {
		t.Errorf("an empty draft: %v, want EINVALID", err)
	}

	release := simulate.HoldSlot()
	_, err = simulate.RunDraft(ctx, reg, src, time.Time{}, simulate.Options{}, true)
	release()
	if !errors.Is(err, simulate.ErrBusy) {
		t.Errorf("while another simulation runs: %v, want ErrBusy", err)
	}

	rep, err := simulate.RunDraft(ctx, reg, src, time.Time{}, simulate.Options{}, true)
	if err != nil {
		t.Fatalf("admin: %v", err)
	}
	if rep.Changed == 0 || len(rep.MostAffected) == 0 {
		t.Fatalf("admin: %d changed, %d most affected: the draft changes nothing?", rep.Changed, len(rep.MostAffected))
	}
	rep, err = simulate.RunDraft(ctx, reg, src, time.Time{}, simulate.Options{}, false)
	if err != nil {
		t.Fatalf("auditor: %v", err)
	}
	if rep.Changed == 0 || len(rep.MostAffected) != 0 {
		t.Errorf("auditor: %d changed, %d most affected; want the same changes, no subject", rep.Changed, len(rep.MostAffected))
	}
}
