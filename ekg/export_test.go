package ekg

// DecodeResponseOwned is the acceptor's decoder, for the external tests.
func DecodeResponseOwned(b []byte) ([]Metric, error) { return decodeResponseOwned(b) }

// DecodeResponseFast is the fast path alone, without the fallback to
// DecodeResponseRef, so that tests can hold it to the reference on what it
// accepts as well as on what it returns.
func DecodeResponseFast(b []byte, owned bool) ([]Metric, bool) {
	return decodeResponseFast(string(b), owned)
}
