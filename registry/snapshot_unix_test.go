//go:build unix

package registry_test

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestR06SnapshotFIFO: a FIFO at the snapshot path used to hang the start
// with no log line (opening it for reading waits for a writer). It is
// refused with a message and the table rebuilt; the new snapshot replaces
// the FIFO. (Should the FIFO be opened after all, a helper writes garbage
// into it, so that a regression fails here rather than hangs.)
func TestR06SnapshotFIFO(t *testing.T) {
	e := newSnapEnv(t)
	reg := e.open(true)
	e.publish(reg, nil)
	os.Remove(e.snap)
	if err := syscall.Mkfifo(e.snap, 0o644); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			f, err := os.OpenFile(e.snap, os.O_WRONLY|syscall.O_NONBLOCK, 0)
			if err == nil {
				if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeNamedPipe != 0 {
					f.Write([]byte("garbage, not a snapshot\n"))
				}
				f.Close()
			}
		}
	}()
	e.open(true)
	close(done)
	logs := e.logs.String()
	if !strings.Contains(logs, "not a regular file") {
		t.Errorf("log does not refuse the FIFO:\n%s", logs)
	}
	if fi, err := os.Stat(e.snap); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("after the rebuild the snapshot is %v, %v; want a regular file", fi, err)
	}
}
