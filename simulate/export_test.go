package simulate

// HoldSlot takes the one simulation slot, as a running simulation does,
// until release is called.
func HoldSlot() (release func()) {
	simulationSlot <- struct{}{}
	return func() { <-simulationSlot }
}
