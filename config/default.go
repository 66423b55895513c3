package config

import (
	"bytes"
	_ "embed" // for the default configuration file
	"fmt"
	"path/filepath"
)

// defaultYAML is default.yaml, an ordinary cardano-tracer configuration.
// It is read-only.
//
//go:embed default.yaml
var defaultYAML []byte

// DefaultFile returns the text of Muninn's default configuration, for an
// operator to copy and edit.
func DefaultFile() []byte { return bytes.Clone(defaultYAML) }

// Default returns Muninn's default configuration, used when no --config is
// given: mainnet magic, AcceptAt on the Unix socket muninn.sock, one
// FileMode/ForMachine tree under logs, rotation at 10 MiB keeping 10 files
// and 24 hours, and Prometheus on 127.0.0.1:12808. Relative paths are
// resolved against workDir ("" means the process's working directory).
func Default(workDir string) *Config {
	if abs, err := filepath.Abs(workDir); err == nil {
		workDir = abs
	}
	c, _, err := parse(defaultYAML, "default.yaml", workDir)
	if err != nil {
		// The file is compiled in and tested; this cannot happen.
		panic(fmt.Sprintf("config: embedded default.yaml is invalid: %v", err))
	}
	return c
}
