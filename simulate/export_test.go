package simulate

// HoldSlot takes the one simulation slot, as a running simulation does,
// until release is called.
func HoldSlot() (release func()) {
	simulationSlot <- struct{}{}
	return func() { <-simulationSlot }
}

// Materialised returns opts set to simulate from every subject's facts
// read into memory first (LoadFacts, sorted by identifier), as Run did
// before it streamed the facts projection.
func Materialised(opts Options) Options {
	opts.materialise = true
	return opts
}
