package config

import (
	"errors"
	"strings"
)

// Validate checks the relations and ranges a Config must satisfy: the
// checks cardano-tracer makes after parsing (no empty logRoot for
// FileMode, no empty epHost in hasEKG or hasPrometheus, different ports for
// those two) and sanity checks (ports in 0..65535, loRequestNum >= 1,
// ekgRequestFreq > 0, rpLogLimitBytes > 0, known enum values, usable
// addresses, ...). It returns errors.Join of one *Problem per failure, each
// naming the key path (without Source or Line, which a Config does not
// keep; Parse and Load add them). Parse and Load call it.
func (c *Config) Validate() error {
	if c == nil {
		return &Problem{Err: problemf(ErrInvalid, "nil config")}
	}
	var errs []error
	c.check(func(path string, err error) {
		errs = append(errs, &Problem{Path: path, Err: err})
	})
	return errors.Join(errs...)
}

// check calls add once per problem, with its key path.
func (c *Config) check(add func(path string, err error)) {
	checkNetwork(c.Network, "network", add)
	if len(c.Logging) == 0 {
		add("logging", problemf(ErrEmpty, "at least one logging entry is needed"))
	}
	for i, l := range c.Logging {
		p := indexPath("logging", i)
		if l.Mode != FileMode && l.Mode != JournalMode {
			add(p+".logMode", problemf(ErrUnknownValue, "%v", l.Mode))
		}
		if l.Format != ForHuman && l.Format != ForMachine {
			add(p+".logFormat", problemf(ErrUnknownValue, "%v", l.Format))
		}
		if l.Mode == FileMode && l.Root == "" {
			add(p+".logRoot", problemf(ErrEmpty, "FileMode needs a logRoot"))
		}
		checkPath(l.Root, p+".logRoot", add)
	}
	if c.LoRequestNum == 0 {
		add("loRequestNum", problemf(ErrRange, "must be at least 1"))
	}
	if c.EKGRequestFreq <= 0 {
		add("ekgRequestFreq", problemf(ErrRange, "%v: must be > 0", c.EKGRequestFreq))
	}
	c.checkEndpoints(add)
	c.Limits.check(add)
	if t := c.TLSCertificate; t != nil {
		if t.CertFile == "" {
			add("tlsCertificate.certificateFile", problemf(ErrEmpty, "no file name"))
		}
		if t.KeyFile == "" {
			add("tlsCertificate.certificateKeyFile", problemf(ErrEmpty, "no file name"))
		}
		checkPath(t.CertFile, "tlsCertificate.certificateFile", add)
		checkPath(t.KeyFile, "tlsCertificate.certificateKeyFile", add)
		for i, f := range t.Chain {
			p := indexPath("tlsCertificate.certificateChain", i)
			if f == "" {
				add(p, problemf(ErrEmpty, "no file name"))
			}
			checkPath(f, p, add)
		}
	}
	if f := c.HasForwarding; f != nil {
		checkNetwork(f.Network, "hasForwarding[0]", add)
		if f.QueueSize < 1 {
			add("hasForwarding[2].queueSize", problemf(ErrRange, "%d: must be at least 1", f.QueueSize))
		}
		if f.Verbosity != Minimum && f.Verbosity != Maximum {
			add("hasForwarding[2].verbosity", problemf(ErrUnknownValue, "%v: must be Minimum or Maximum", f.Verbosity))
		}
		if f.MaxReconnectDelay < 0 {
			add("hasForwarding[2].maxReconnectDelay", problemf(ErrRange, "%v: must not be negative", f.MaxReconnectDelay))
		}
	}
	if r := c.Rotation; r != nil {
		if r.Frequency <= 0 {
			add("rotation.rpFrequencySecs", problemf(ErrRange, "%v: must be > 0", r.Frequency))
		}
		if r.LogLimit == 0 {
			add("rotation.rpLogLimitBytes", problemf(ErrRange, "must be > 0"))
		}
		if r.MaxAge < 0 {
			add("rotation.rpMaxAgeMinutes", problemf(ErrRange, "%v: must not be negative", r.MaxAge))
		}
	}
	if c.Verbosity > Maximum {
		add("verbosity", problemf(ErrUnknownValue, "%v", c.Verbosity))
	}
	if h := c.MetricsHelp; h != nil {
		switch {
		case h.File == "" && h.Map == nil:
			add("metricsHelp", problemf(ErrEmpty, "neither a file nor a mapping"))
		case h.File != "" && h.Map != nil:
			add("metricsHelp", problemf(ErrInvalid, "both a file and a mapping"))
		}
		checkPath(h.File, "metricsHelp", add)
	}
	if c.ResourceFreq < 0 {
		add("resourceFreq", problemf(ErrRange, "%v: must not be negative (0 is off)", c.ResourceFreq))
	}
}

func (c *Config) checkEndpoints(add func(string, error)) {
	for _, e := range []struct {
		key       string
		ep        *Endpoint
		needsHost bool
	}{{"hasEKG", c.HasEKG, true}, {"hasPrometheus", c.HasPrometheus, true}, {"hasTimeseries", c.HasTimeseries, false}} {
		if e.ep == nil {
			continue
		}
		if e.ep.Port < 0 || e.ep.Port > 65535 {
			add(e.key+".epPort", problemf(ErrRange, "%d is not a port (0..65535)", e.ep.Port))
		}
		// cardano-tracer checks only these two hosts.
		if e.needsHost && e.ep.Host == "" {
			add(e.key+".epHost", problemf(ErrEmpty, "no host"))
		}
	}
	// cardano-tracer compares only these two ports, whatever the hosts.
	if c.HasEKG != nil && c.HasPrometheus != nil && c.HasEKG.Port == c.HasPrometheus.Port {
		add("hasPrometheus.epPort", problemf(ErrDuplicatePort, "%d is also hasEKG.epPort", c.HasPrometheus.Port))
	}
}

func checkNetwork(n Network, path string, add func(string, error)) {
	switch n.Mode {
	case AcceptAt:
		if len(n.Addresses) != 1 {
			add(path+".contents", problemf(ErrInvalid, "AcceptAt takes exactly one address, got %d", len(n.Addresses)))
		}
		for _, a := range n.Addresses {
			checkAddress(a, path+".contents", add)
		}
	case ConnectTo:
		if len(n.Addresses) == 0 {
			add(path+".contents", problemf(ErrEmpty, "ConnectTo needs at least one address"))
		}
		for i, a := range n.Addresses {
			checkAddress(a, indexPath(path+".contents", i), add)
		}
	default:
		add(path+".tag", problemf(ErrUnknownValue, "%v", n.Mode))
	}
}

func checkAddress(a Address, path string, add func(string, error)) {
	switch {
	case a.Net == "unix" && a.Addr != "":
		checkPath(a.Addr, path, add)
	case a.Net == "tcp" && a.Host != "" && a.Addr != "":
	default:
		add(path, problemf(ErrAddress, "%q is neither a usable socket path nor host:port", a.Raw))
	}
}

// checkPath rejects what no file system accepts in a name.
func checkPath(p, path string, add func(string, error)) {
	if strings.IndexByte(p, 0) >= 0 {
		add(path, problemf(ErrInvalid, "a file name cannot contain a NUL byte"))
	}
}
