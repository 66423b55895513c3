//go:build race

package integration

// Under go test -race the binaries under test are built with -race too.
func init() { raceEnabled = true }
