package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"credo/ident"
)

// TestMain lets tests run the real binary as a subprocess: with
// CREDO_TEST_MAIN=1 the test binary behaves as `credo`.
func TestMain(m *testing.M) {
	if os.Getenv("CREDO_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// credo runs the command in process and returns its exit status and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// newRegistry creates a registry with the test policy and returns its path.
func newRegistry(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "test.db")
	if code, out, errs := runCLI(t, "init", "--db", db, "--policy", "testdata/policy.yaml"); code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, out, errs)
	}
	return db
}

// ric returns the i-th valid Resident Identity Card number of an adult born
// in Beijing's Chaoyang district.
func ric(i int) string {
	first17 := fmt.Sprintf("110105%04d%02d%02d%03d", 1950+(i/999)%50, 1+(i/(999*50))%12, 1+(i/(999*50*12))%28, 1+i%999)
	c, err := ident.RICCheck(first17)
	if err != nil {
		panic(err)
	}
	return first17 + string(c)
}

func digest(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
