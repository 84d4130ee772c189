//go:build !race

package sqlite_test

// raceEnabled reports whether the tests run under the race detector, which
// makes the transpiled SQLite many times slower.
const raceEnabled = false
