// Package config reads cardano-tracer's configuration file, unchanged, into
// typed values: Load and Parse decode YAML (or JSON, which is YAML),
// collect every problem of the file at once, apply cardano-tracer's
// defaults and call Validate; Default is Muninn's built-in configuration.
//
// Decoding walks a yaml.Node tree against the schema itself, so that:
//
//   - keys cardano-tracer does not know (hasRTView, metricsComp, typos)
//     are warnings, one per key with its path and line, not errors:
//     cardano-tracer ignores them silently and real files carry them;
//   - every problem is reported, each as a *Problem naming its key path
//     and line, joined with errors.Join;
//   - null is the same as an absent key for optional keys;
//   - scalars are read as cardano-tracer's YAML library (Data.Yaml) reads
//     them, not as YAML 1.2: y/yes/on/true and n/no/off/false in lower,
//     UPPER or Title case are booleans (accepted for boolean keys, as
//     there); quoted numbers are strings ("30" is not a number);
//     "0777" is 777; 0x and 0o prefixes are numbers; an integral float
//     (1.0, 1e3) is an integer;
//   - "<<" merge keys and repeated keys (the last one wins, with a
//     warning) behave as in Data.Yaml.
//
// Where Muninn deliberately differs from cardano-tracer:
//
//   - a string key accepts any scalar's text (logRoot: 2024), where
//     cardano-tracer rejects a number;
//   - the pre-0.3 list form hasEKG: [EP, EP] is accepted (first endpoint,
//     with a warning);
//   - hasForwarding may use ConnectTo (cardano-tracer aborts), with a
//     warning about portability; a null options element is taken as {};
//   - sanity checks cardano-tracer lacks: loRequestNum >= 1,
//     ekgRequestFreq > 0, resourceFreq > 0 when given, ports in 0..65535,
//     rpLogLimitBytes > 0, queueSize >= 1; rpFrequencySecs 0 (a spinning
//     check loop there) falls back to 60 s with a warning;
//   - the optional rotation fields keep cardano-tracer's fallback on a bad
//     value, but with a warning;
//   - relative paths, Unix socket addresses included, are made absolute
//     against the working directory (Address.Raw keeps the text as
//     written, for names that must match cardano-tracer); duplicates in
//     logging and ConnectTo are compared after that;
//   - warnings for an epForceSSL without tlsCertificate, for an empty
//     metricsHelp file name, for rpMaxAgeHours next to rpMaxAgeMinutes and
//     for connQueueSize/disconnQueueSize next to queueSize.
package config
