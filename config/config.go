package config

import "time"

// Config is cardano-tracer's configuration file, decoded into typed values.
// Durations are time.Duration and sizes are bytes; relative paths have been
// made absolute against the working directory given to Parse or Load.
// Parse and Load fill in cardano-tracer's defaults, so a zero field means
// what the comment says, not "absent" (except where a pointer is nil).
type Config struct {
	// NetworkMagic is sent in the handshake (networkMagic, required).
	NetworkMagic uint32
	// Network says how nodes are reached (network, required).
	Network Network
	// Logging lists where trace objects are stored (logging, required,
	// non-empty). Exact duplicates have been removed.
	Logging []Logging
	// LoRequestNum is the most trace objects asked for in one request
	// (loRequestNum, default 100, 1..65535).
	LoRequestNum uint16
	// EKGRequestFreq is the pause between two metrics requests to a node
	// (ekgRequestFreq, seconds with fractions, default 1 s, > 0).
	EKGRequestFreq time.Duration
	// EKGRequestFull asks for every metric each time instead of only the
	// changed ones (ekgRequestFull, default false).
	EKGRequestFull bool
	// HasEKG, HasPrometheus and HasTimeseries are the HTTP servers; nil
	// means off.
	HasEKG, HasPrometheus, HasTimeseries *Endpoint
	// TLSCertificate is used by endpoints with ForceSSL; nil means none.
	TLSCertificate *TLSCertificate
	// HasForwarding turns on re-forwarding; nil means off.
	HasForwarding *Forwarding
	// Rotation of the log files; nil means no rotation at all (one file
	// per connection that grows without limit).
	Rotation *Rotation
	// Verbosity of the tracer's own messages; VerbosityUnset behaves like
	// ErrorsOnly (see Verbosity.Effective).
	Verbosity Verbosity
	// MetricsNoSuffix drops the _int, _counter and _real suffixes from
	// Prometheus names (metricsNoSuffix, default false).
	MetricsNoSuffix bool
	// MetricsHelp gives the text of "# HELP" lines; nil means none.
	MetricsHelp *MetricsHelp
	// PrometheusLabels are added to every target in /targets; nil when
	// absent or empty.
	PrometheusLabels map[string]string
	// ResourceFreq is the interval of the tracer's own resource traces
	// (resourceFreq, milliseconds in the file); 0 means off.
	ResourceFreq time.Duration
	// Limits is Muninn's extension key muninnLimits.
	Limits Limits
}

// NetworkMode says which side opens the forwarding connections.
type NetworkMode uint8

// The zero NetworkMode is invalid.
const (
	// AcceptAt: the tracer listens at one address and nodes connect.
	AcceptAt NetworkMode = iota + 1
	// ConnectTo: the tracer dials each listed node.
	ConnectTo
)

func (m NetworkMode) String() string {
	switch m {
	case AcceptAt:
		return "AcceptAt"
	case ConnectTo:
		return "ConnectTo"
	}
	return "invalid NetworkMode"
}

// Network is the value of `network` (and of the first element of
// `hasForwarding`): {tag: AcceptAt, contents: ADDRESS} or {tag: ConnectTo,
// contents: [ADDRESS, ...]}.
type Network struct {
	Mode NetworkMode
	// Addresses holds exactly one address for AcceptAt and at least one
	// for ConnectTo (exact duplicates removed, first occurrence kept).
	Addresses []Address
}

// Address is one forwarding address: a TCP host:port or a Unix socket path.
type Address struct {
	// Raw is the string as written in the file. cardano-tracer prints
	// this text where it names the address (e.g. the NodeId of a
	// ConnectTo connection, the listening path in AcceptAt NodeIds), so
	// use Raw, not Addr, wherever names must match cardano-tracer.
	Raw string
	// Net is "unix" or "tcp", as net.Dial and net.Listen take it.
	Net string
	// Addr is what to give net.Dial or net.Listen: the socket path (made
	// absolute against the working directory) or host:port.
	Addr string
	// Host and Port are the TCP parts (zero for a Unix socket). Host is
	// kept as written: "[::1]:3000" gives the host "[::1]" with its
	// brackets, as in cardano-tracer; Addr is then "[::1]:3000", which Go
	// can dial, while "::1:3000" gives Host "::1" and Addr "[::1]:3000".
	Host string
	Port uint16
}

func (a Address) String() string { return a.Raw }

// LogMode says where trace objects go.
type LogMode uint8

// The zero LogMode is invalid.
const (
	// FileMode writes per-node log files under the root.
	FileMode LogMode = iota + 1
	// JournalMode sends trace objects to the systemd journal.
	JournalMode
)

func (m LogMode) String() string {
	switch m {
	case FileMode:
		return "FileMode"
	case JournalMode:
		return "JournalMode"
	}
	return "invalid LogMode"
}

// LogFormat is the text written per trace object.
type LogFormat uint8

// The zero LogFormat is invalid.
const (
	// ForHuman: text lines, files end in .log.
	ForHuman LogFormat = iota + 1
	// ForMachine: JSON lines, files end in .json.
	ForMachine
)

func (f LogFormat) String() string {
	switch f {
	case ForHuman:
		return "ForHuman"
	case ForMachine:
		return "ForMachine"
	}
	return "invalid LogFormat"
}

// Logging is one entry of `logging`.
type Logging struct {
	// Root is the directory holding the per-node subdirectories, made
	// absolute against the working directory. It is still required (but
	// unused) for JournalMode, where it may be empty.
	Root   string
	Mode   LogMode
	Format LogFormat
}

// Rotation is `rotation` (RotationParams).
type Rotation struct {
	// Frequency is the time between rotation checks (rpFrequencySecs,
	// default 60 s). Nothing is rotated by time.
	Frequency time.Duration
	// LogLimit starts a new file once the current one holds at least this
	// many bytes (rpLogLimitBytes, required, > 0).
	LogLimit uint64
	// KeepFiles older files are kept whatever their age, on top of the
	// current file (rpKeepFilesNum, required).
	KeepFiles uint32
	// MaxAge is the age after which older files are deleted:
	// rpMaxAgeMinutes, else rpMaxAgeHours, else 24 h. Ages beyond what a
	// Duration holds (about 292 years) are clamped to the largest one.
	MaxAge time.Duration
}

// Endpoint is an HTTP server address (hasEKG, hasPrometheus, hasTimeseries).
type Endpoint struct {
	// Host is a warp host preference: an address, "*", "*4", "!4", "*6"
	// or "!6".
	Host string
	// Port is the TCP port; Validate keeps it in 0..65535.
	Port int
	// ForceSSL serves HTTPS only, when TLSCertificate is set; without a
	// certificate the port falls back to plain HTTP (Parse warns).
	ForceSSL bool
}

// TLSCertificate is `tlsCertificate`; paths are absolute.
type TLSCertificate struct {
	CertFile string   // certificateFile
	KeyFile  string   // certificateKeyFile
	Chain    []string // certificateChain; nil when absent or empty
}

// Forwarding is `hasForwarding`: [network, namespaces, options].
type Forwarding struct {
	// Network is where the re-forwarder listens (AcceptAt) or, as a
	// Muninn extension, what it dials (ConnectTo; cardano-tracer aborts).
	Network Network
	// Namespaces are the namespace prefixes to forward, each a list of
	// segments. nil (null in the file) forwards everything; an empty,
	// non-nil list forwards nothing.
	Namespaces [][]string
	// QueueSize is the forwarding queue length: queueSize, else the larger
	// of connQueueSize (default 128) and disconnQueueSize (default 192).
	QueueSize int
	// Verbosity is Minimum (default) or Maximum.
	Verbosity Verbosity
	// MaxReconnectDelay bounds the delay between reconnection attempts
	// (maxReconnectDelay, seconds, default 45 s).
	MaxReconnectDelay time.Duration
}

// MetricsHelp is `metricsHelp`: either a JSON file (File) or an inline map
// from internal metric names to help text (Map, non-nil). Entries with
// empty text are kept here; the consumer drops them, as it must for the
// file's entries too.
type MetricsHelp struct {
	File string
	Map  map[string]string
}

// Verbosity is the tracer's own verbosity, or the forwarder's.
type Verbosity uint8

const (
	// VerbosityUnset: the key was absent; it behaves like ErrorsOnly.
	VerbosityUnset Verbosity = iota
	// Minimum hides connection-interruption and error traces.
	Minimum
	// ErrorsOnly shows them.
	ErrorsOnly
	// Maximum also prints every mini-protocol message.
	Maximum
)

// Effective is the verbosity to act on: ErrorsOnly when unset.
func (v Verbosity) Effective() Verbosity {
	if v == VerbosityUnset {
		return ErrorsOnly
	}
	return v
}

func (v Verbosity) String() string {
	switch v {
	case VerbosityUnset:
		return "unset"
	case Minimum:
		return "Minimum"
	case ErrorsOnly:
		return "ErrorsOnly"
	case Maximum:
		return "Maximum"
	}
	return "invalid Verbosity"
}
