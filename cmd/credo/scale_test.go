package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"credo"
	chttp "credo/http"
	"credo/ident"
	"credo/internal/pgtest"
)

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// node is a `credo serve` subprocess.
type node struct {
	t    *testing.T
	addr string
	args []string
	cmd  *exec.Cmd
	logs *strings.Builder
}

func (n *node) url() string { return "http://" + n.addr }

// start runs `credo serve --addr ADDR ARGS...` and waits until /readyz
// answers 200.
func (n *node) start() {
	t := n.t
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	n.logs = &strings.Builder{}
	n.cmd = exec.Command(exe, append([]string{"serve", "--addr", n.addr}, n.args...)...)
	n.cmd.Env = append(os.Environ(), "CREDO_TEST_MAIN=1")
	n.cmd.Stderr = n.logs
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if n.cmd.ProcessState == nil {
			n.cmd.Process.Kill()
			n.cmd.Wait()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(n.url() + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			n.cmd.Process.Kill()
			n.cmd.Wait()
			t.Fatalf("node %s never became ready:\n%s", n.addr, n.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop shuts the node down gracefully (SIGTERM: it writes every queued
// check to the check log first).
func (n *node) stop() {
	n.t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		n.t.Fatal(err)
	}
	if err := n.cmd.Wait(); err != nil {
		n.t.Fatalf("node %s: %v\n%s", n.addr, err, n.logs)
	}
}

func readyz(t *testing.T, base string) (int, chttp.Ready) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return 0, chttp.Ready{}
	}
	defer resp.Body.Close()
	var rd chttp.Ready
	json.NewDecoder(resp.Body).Decode(&rd)
	return resp.StatusCode, rd
}

func judgmentRecord(subject, caseRef string) *credo.Record {
	return &credo.Record{Subject: subject, Rule: "JUDGMENT_DEFAULT", Authority: "court.test", CaseRef: caseRef,
		DecidedAt: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), EvidenceSHA256: digest(caseRef)}
}

// pgRegistry initialises a registry in a fresh PostgreSQL database and
// returns its URL and a court, an airline and an admin token.
func pgRegistry(t *testing.T) (dsn, court, airline, admin string) {
	t.Helper()
	dsn = pgtest.NewDatabase(t)
	t.Setenv(envPostgres, "")
	mustRun(t, "init", "--postgres", dsn, "--policy", "testdata/policy.yaml")
	court = strings.TrimSpace(mustRun(t, "token", "create", "--postgres", dsn, "--role", "authority", "--authority", "court.test"))
	airline = strings.TrimSpace(mustRun(t, "token", "create", "--postgres", dsn, "--role", "checker", "--sector", "aviation", "--name", "Air"))
	admin = strings.TrimSpace(mustRun(t, "token", "create", "--postgres", dsn, "--role", "admin"))
	return
}

// TestTwoNodesOnePostgres runs two `credo serve` processes on one
// PostgreSQL database: a record filed through node A changes node B's
// answer without B polling (it tails hourly; A's commit notifies it), B
// stopped and restarted loses none of the checks it logged, and catches
// up with what A filed meanwhile.
func TestTwoNodesOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs server subprocesses")
	}
	dsn, court, airline, admin := pgRegistry(t)
	ctx := context.Background()
	a := &node{t: t, addr: freeAddr(t), args: []string{"--postgres", dsn, "--tail-interval", "200ms"}}
	b := &node{t: t, addr: freeAddr(t), args: []string{"--postgres", dsn, "--tail-interval", "1h"}}
	a.start()
	b.start()
	fileA, checkA := chttp.NewClient(a.url(), court), chttp.NewClient(a.url(), airline)
	checkB := chttp.NewClient(b.url(), airline)

	subject := ric(1)
	if d, err := checkB.Check(ctx, subject, "aviation"); err != nil || d.Decision != "allow" {
		t.Fatalf("before: %+v %v", d, err)
	}
	sent := time.Now()
	res, err := fileA.FileRecord(ctx, judgmentRecord(subject, "A-1"))
	if err != nil {
		t.Fatal(err)
	}
	acked := time.Now()
	var res2 *chttp.CheckResult
	for deadline := time.Now().Add(10 * time.Second); ; {
		res2, err = checkB.CheckResult(ctx, subject, "aviation")
		if err != nil {
			t.Fatal(err)
		}
		if res2.Decision == "deny" || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if res2.Decision != "deny" || res2.LogPosition < res.Record.ID {
		t.Fatalf("node B after a record filed through A: %+v (record at seq %d)", res2, res.Record.ID)
	}
	t.Logf("a record filed through A (acknowledged in %v) changed B's answer %v after the acknowledgement (B polls hourly: notified)",
		acked.Sub(sent).Round(time.Millisecond), time.Since(acked).Round(time.Millisecond))

	// B answers and logs checks, then stops; A files meanwhile.
	var ids []string
	for i := range 20 {
		r, err := checkB.CheckResult(ctx, ric(i), "aviation")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.CheckID)
	}
	b.stop()
	for i := 2; i < 8; i++ {
		if _, err := fileA.FileRecord(ctx, judgmentRecord(ric(i), fmt.Sprintf("A-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	replayA := chttp.NewClient(a.url(), admin)
	for _, id := range ids {
		if _, err := replayA.Replay(ctx, id); err != nil {
			t.Errorf("check %s answered by B before it stopped: %v", id, err)
		}
	}
	b.start()
	for i := range 20 {
		da, err := checkA.Check(ctx, ric(i), "aviation")
		if err != nil {
			t.Fatal(err)
		}
		db, err := checkB.Check(ctx, ric(i), "aviation")
		if err != nil {
			t.Fatal(err)
		}
		want := "allow"
		if i >= 1 && i < 8 { // ric(1) first, then 2..7 while B was down
			want = "deny"
		}
		if da.Decision != want || db.Decision != want {
			t.Errorf("%s: A says %s, B says %s, want %s", ric(i), da.Decision, db.Decision, want)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, ra := readyz(t, a.url())
		_, rb := readyz(t, b.url())
		if ra.LogPosition == rb.LogPosition && ra.TableEntries == rb.TableEntries && ra.LogPosition == ra.LogHead {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("A and B disagree: %+v, %+v", ra, rb)
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.stop()
	b.stop()
	if code, out, errs := runCLI(t, "verify", "--postgres", dsn); code != 0 {
		t.Fatalf("verify: %s%s", out, errs)
	}
}

// TestServeShards runs two `credo serve` shard nodes (Beijing; Guangdong
// and the default) from one shard map: a check and a filing sent to the
// wrong node are forwarded to the right one, and with forwarding off the
// node answers 421 naming the shard.
func TestServeShards(t *testing.T) {
	if testing.Short() {
		t.Skip("runs server subprocesses")
	}
	north, south := &node{t: t, addr: freeAddr(t)}, &node{t: t, addr: freeAddr(t)}
	dir := t.TempDir()
	shardMap := dir + "/shards.yaml"
	writeFile(t, shardMap, fmt.Sprintf("default: south\nshards:\n  north: {provinces: [\"11\"], url: %q}\n  south: {provinces: [\"44\"], url: %q}\n", north.url(), south.url()))
	// The same tokens in both shards' databases.
	courtSecret, courtHash := credo.NewTokenSecret()
	airSecret, airHash := credo.NewTokenSecret()
	ctx := context.Background()
	for _, n := range []*node{north, south} {
		db := dir + "/" + n.addr[len("127.0.0.1:"):] + ".db"
		mustRun(t, "init", "--db", db, "--policy", "testdata/policy.yaml")
		st, err := openStore(storeFlag{db: db, dbSet: true}, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range []credo.Token{
			{ID: "tok-court", Name: "court", Role: credo.RoleAuthority, Authority: "court.test", Hash: courtHash, Created: time.Now()},
			{ID: "tok-air", Name: "air", Role: credo.RoleChecker, Sectors: []string{"aviation"}, Hash: airHash, Created: time.Now()},
		} {
			if err := st.CreateToken(ctx, &tk); err != nil {
				t.Fatal(err)
			}
		}
		st.Close()
		shard := "north"
		if n == south {
			shard = "south"
		}
		n.args = []string{"--db", db, "--shard-map", shardMap, "--shard", shard}
	}
	north.start()
	south.start()
	guangdong := ricRegion("440300", 7)
	// Filed through north, forwarded to south.
	if _, err := chttp.NewClient(north.url(), courtSecret).FileRecord(ctx, judgmentRecord(guangdong, "GD-1")); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*node{north, south} {
		d, err := chttp.NewClient(n.url(), airSecret).Check(ctx, guangdong, "aviation")
		if err != nil || d.Decision != "deny" {
			t.Errorf("check of a Guangdong subject on %s: %+v %v", n.addr, d, err)
		}
	}
	if _, rd := readyz(t, north.url()); rd.TableEntries != 0 {
		t.Errorf("north holds %d subjects, want none (the record went to south)", rd.TableEntries)
	}
	north.stop()
	north.args = append(north.args, "--no-shard-forward")
	north.start()
	status, hdr, body := rawPost(t, north.url()+"/v1/checks", airSecret, `{"subject":"`+guangdong+`","sector":"aviation"}`)
	if status != http.StatusMisdirectedRequest || hdr.Get(chttp.ShardHeader) != "south" || !strings.Contains(body, "belongs to shard south") {
		t.Errorf("421 expected: %d %v %s", status, hdr, body)
	}
}

// ricRegion returns a valid RIC of a person born in 1990 in region.
func ricRegion(region string, n int) string {
	first17 := fmt.Sprintf("%s19900101%03d", region, n)
	c, err := ident.RICCheck(first17)
	if err != nil {
		panic(err)
	}
	return first17 + string(c)
}

// TestServeScaleFlags: flags that go together are refused alone, clearly.
func TestServeScaleFlags(t *testing.T) {
	db := newRegistry(t)
	bad := t.TempDir() + "/bad.yaml"
	writeFile(t, bad, "default: x\nshards:\n  a: {provinces: [\"11\"], url: \"http://a\"}\n")
	good := t.TempDir() + "/good.yaml"
	writeFile(t, good, "default: a\nshards:\n  a: {provinces: [\"11\"], url: \"http://a\"}\n")
	t.Setenv(envPostgres, "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--shard", "a"}, "--shard: needs --shard-map"},
		{[]string{"--shard-map", bad, "--shard", "a"}, `default: "x" is not one of the shards (a)`},
		{[]string{"--shard-map", good}, "name the shard(s) this node serves (a)"},
		{[]string{"--shard-map", good, "--shard", "b"}, `"b" is not in the shard map (a)`},
		{[]string{"--postgres-read", "postgres://x/y"}, "--postgres-read: needs a PostgreSQL primary"},
		{[]string{"--tail-interval", "0s"}, "--tail-interval: must be positive"},
	} {
		code, _, errs := runCLI(t, append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0"}, tc.args...)...)
		if code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("serve %v: exit %d, %q; want an error containing %q", tc.args, code, errs, tc.want)
		}
	}
}
