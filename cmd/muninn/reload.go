package main

import (
	"log/slog"
	"reflect"
	"sync/atomic"

	"muninn/config"
	"muninn/logging"
	"muninn/server"
)

// running is what a configuration reload may change in a running Muninn.
type running struct {
	path, wd  string
	cfg       *config.Config // the settings in effect
	severity  slog.Level     // from --min-log-severity
	level     *slog.LevelVar
	hide      *atomic.Bool // verbosity Minimum: hide interruption records
	logs      *logging.Writer
	srv       *server.Server
	web       *server.HTTP
	metrics   *server.Metrics
	reforward *server.Reforwarder // nil without hasForwarding
	log       *slog.Logger
}

// applyVerbosity sets the diagnostic level and filter for v.
func (r *running) applyVerbosity(v config.Verbosity) {
	lv := r.severity
	if v.Effective() == config.Maximum {
		lv = min(lv, slog.LevelDebug)
	}
	r.level.Set(lv)
	r.hide.Store(v.Effective() == config.Minimum)
}

// restartNeeded lists the keys whose new values a reload cannot apply:
// addresses, ports, certificates and limits are bound at start-up.
func restartNeeded(old, next *config.Config) []string {
	var out []string
	for _, f := range []struct {
		key       string
		old, next any
	}{
		{"networkMagic", old.NetworkMagic, next.NetworkMagic},
		{"network", old.Network, next.Network},
		{"loRequestNum", old.LoRequestNum, next.LoRequestNum},
		{"hasPrometheus", old.HasPrometheus, next.HasPrometheus},
		{"hasEKG", old.HasEKG, next.HasEKG},
		{"hasTimeseries", old.HasTimeseries, next.HasTimeseries},
		{"tlsCertificate", old.TLSCertificate, next.TLSCertificate},
		{"hasForwarding", forwardingBinding(old), forwardingBinding(next)},
		{"resourceFreq", old.ResourceFreq, next.ResourceFreq},
		{"muninnLimits", old.Limits, next.Limits},
	} {
		if !reflect.DeepEqual(f.old, f.next) {
			out = append(out, f.key)
		}
	}
	return out
}

// forwardingBinding is the part of hasForwarding a reload cannot change:
// everything but the namespace filter.
func forwardingBinding(c *config.Config) any {
	if c.HasForwarding == nil {
		return nil
	}
	f := *c.HasForwarding
	f.Namespaces = nil
	return f
}

// reload re-reads the configuration file and applies what can change
// without dropping a node connection: logging entries and rotation,
// metricsHelp, metricsNoSuffix, prometheusLabels, verbosity and the EKG
// polling settings. An invalid file keeps the running configuration.
func (r *running) reload() {
	if r.path == "" {
		r.log.Warn("SIGHUP: running on the built-in configuration, there is no file to reload")
		return
	}
	next, warnings, err := config.Load(r.path, config.WithWorkDir(r.wd))
	if err != nil {
		problems := config.Problems(err)
		for _, p := range problems {
			r.log.Error("configuration reload rejected; keeping the running configuration", "key", p.Path, "line", p.Line, "err", p.Err)
		}
		if len(problems) == 0 {
			r.log.Error("configuration reload rejected; keeping the running configuration", "err", err)
		}
		r.metrics.ConfigReloaded(false)
		return
	}
	for _, w := range warnings {
		r.log.Warn("configuration: "+w.Message, "key", w.Path, "line", w.Line)
	}
	lc := logConfig(next, r.log)
	if err := r.logs.Reconfigure(lc.Entries, lc.Rotation); err != nil {
		r.log.Error("configuration reload rejected; keeping the running configuration", "key", "logging", "err", err)
		r.metrics.ConfigReloaded(false)
		return
	}
	for _, k := range restartNeeded(r.cfg, next) {
		r.log.Warn("configuration change needs a restart; the running value stays until then", "key", k)
	}
	r.web.SetConfig(server.PrometheusConfig{
		NoSuffix: next.MetricsNoSuffix, Help: loadHelp(next, r.log), Labels: next.PrometheusLabels, Gatherer: r.web.Gatherer(),
	})
	r.srv.SetEKG(next.EKGRequestFreq, next.EKGRequestFull)
	r.applyVerbosity(next.Verbosity)
	if r.reforward != nil && next.HasForwarding != nil {
		r.reforward.SetNamespaces(next.HasForwarding.Namespaces)
	}

	applied := *r.cfg // keep what needs a restart, take the rest
	applied.Logging, applied.Rotation = next.Logging, next.Rotation
	applied.MetricsHelp, applied.MetricsNoSuffix, applied.PrometheusLabels = next.MetricsHelp, next.MetricsNoSuffix, next.PrometheusLabels
	applied.EKGRequestFreq, applied.EKGRequestFull, applied.Verbosity = next.EKGRequestFreq, next.EKGRequestFull, next.Verbosity
	if applied.HasForwarding != nil && next.HasForwarding != nil {
		f := *applied.HasForwarding
		f.Namespaces = next.HasForwarding.Namespaces
		applied.HasForwarding = &f
	}
	r.cfg = &applied
	r.metrics.ConfigReloaded(true)
	r.log.Info("configuration reloaded", "config", r.path)
}
