package muxproto

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes one Mux. The zero value of a field means its default.
type Config struct {
	// SDUSize is the most payload bytes written per outgoing SDU.
	// Default 12 288 (what the Haskell mux writes on sockets); at most 65 535.
	SDUSize int
	// IngressLimit bounds, per mini-protocol, the bytes received but not
	// yet taken by Recv. Exceeding it ends the connection. Default 64 MiB.
	IngressLimit int
	// MaxMessageSize bounds one incoming message. Default 32 MiB.
	MaxMessageSize int
	// EgressLimit is how many bytes Send may queue per mini-protocol before
	// it waits for the writer. A single larger message is always accepted
	// when nothing else is queued. Default 1 MiB.
	EgressLimit int
	// SDUTimeout bounds the time from the first byte of an SDU to its last;
	// waiting for the next SDU is never timed (idle is normal). Default 30 s.
	SDUTimeout time.Duration
	// MaxNesting bounds CBOR nesting in incoming messages. Default 32, the
	// limit of the shared decode mode.
	MaxNesting int
}

// DefaultConfig returns the defaults described on Config.
func DefaultConfig() Config {
	return Config{
		SDUSize:        DefaultSDUSize,
		IngressLimit:   64 << 20,
		MaxMessageSize: 32 << 20,
		EgressLimit:    1 << 20,
		SDUTimeout:     30 * time.Second,
		MaxNesting:     32,
	}
}

// Validate reports every invalid field, after applying defaults.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

// withDefaults fills zero fields from DefaultConfig and validates.
func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	if c.SDUSize == 0 {
		c.SDUSize = d.SDUSize
	}
	if c.IngressLimit == 0 {
		c.IngressLimit = d.IngressLimit
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = min(d.MaxMessageSize, c.IngressLimit)
	}
	if c.EgressLimit == 0 {
		c.EgressLimit = d.EgressLimit
	}
	if c.SDUTimeout == 0 {
		c.SDUTimeout = d.SDUTimeout
	}
	if c.MaxNesting == 0 {
		c.MaxNesting = d.MaxNesting
	}
	var errs []error
	if c.SDUSize < 1 || c.SDUSize > MaxSDUPayload {
		errs = append(errs, fmt.Errorf("SDUSize %d: must be 1..%d", c.SDUSize, MaxSDUPayload))
	}
	if c.IngressLimit < 1 {
		errs = append(errs, fmt.Errorf("IngressLimit %d: must be positive", c.IngressLimit))
	}
	if c.MaxMessageSize < 1 || c.MaxMessageSize > c.IngressLimit {
		errs = append(errs, fmt.Errorf("MaxMessageSize %d: must be 1..IngressLimit (%d)", c.MaxMessageSize, c.IngressLimit))
	}
	if c.EgressLimit < 1 {
		errs = append(errs, fmt.Errorf("EgressLimit %d: must be positive", c.EgressLimit))
	}
	if c.SDUTimeout < 0 {
		errs = append(errs, fmt.Errorf("SDUTimeout %v: must not be negative", c.SDUTimeout))
	}
	if c.MaxNesting < 1 {
		errs = append(errs, fmt.Errorf("MaxNesting %d: must be positive", c.MaxNesting))
	}
	return c, errors.Join(errs...)
}
