package http_test

// In-memory token store and check log, used only while the SQLite store
// does not implement credo.TokenStore and credo.CheckLog (see stores).

import (
	"context"
	"sort"
	"sync"
	"time"

	"credo"
)

type memTokens struct {
	mu     sync.Mutex
	byHash map[string]*credo.Token
}

func newMemTokens() *memTokens { return &memTokens{byHash: map[string]*credo.Token{}} }

func (m *memTokens) CreateToken(ctx context.Context, t *credo.Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *t
	m.byHash[t.Hash] = &c
	return nil
}

func (m *memTokens) TokenByHash(ctx context.Context, hash string) (*credo.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.byHash[hash]
	if !ok {
		return nil, credo.Errorf(credo.ENOTFOUND, "no such token")
	}
	c := *t
	return &c, nil
}

func (m *memTokens) Tokens(ctx context.Context) ([]*credo.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*credo.Token
	for _, t := range m.byHash {
		c := *t
		out = append(out, &c)
	}
	return out, nil
}

func (m *memTokens) RevokeToken(ctx context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.byHash {
		if t.ID == id {
			t.Revoked = at
			return nil
		}
	}
	return credo.Errorf(credo.ENOTFOUND, "no token %s", id)
}

type memChecks struct {
	mu      sync.Mutex
	batches [][]credo.CheckEntry
}

func newMemChecks() *memChecks { return &memChecks{} }

func (m *memChecks) LogChecks(ctx context.Context, cs []credo.CheckEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.batches = append(m.batches, append([]credo.CheckEntry(nil), cs...))
	return nil
}

func (m *memChecks) Check(ctx context.Context, id string) (*credo.CheckEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range m.batches {
		for _, e := range b {
			if e.ID == id {
				return &e, nil
			}
		}
	}
	return nil, credo.Errorf(credo.ENOTFOUND, "no check %s", id)
}

func (m *memChecks) ChecksOf(ctx context.Context, subject string, limit int) ([]credo.CheckEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []credo.CheckEntry
	for _, b := range m.batches {
		for _, e := range b {
			if e.Subject == subject {
				out = append(out, e)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
