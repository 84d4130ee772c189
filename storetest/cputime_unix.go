//go:build unix

package storetest

import (
	"syscall"
	"time"
)

// CPUTime returns the CPU time (user and system, all threads) this process
// has used, not a database server's. Benchmarks report CPU per record
// too, because wall-clock rates on a shared machine depend on what else
// runs.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
