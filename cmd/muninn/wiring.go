package main

import (
	"log/slog"

	"muninn/config"
	"muninn/logging"
	"muninn/server"
)

// logConfig maps the file's logging entries and rotation onto the writer.
func logConfig(cfg *config.Config, log *slog.Logger) logging.Config {
	lc := logging.Config{Log: log.With("component", "logging")}
	for _, e := range cfg.Logging {
		entry := logging.Entry{Root: e.Root, Mode: logging.FileMode, Format: logging.ForMachine}
		if e.Mode == config.JournalMode {
			entry.Mode = logging.JournalMode
		}
		if e.Format == config.ForHuman {
			entry.Format = logging.ForHuman
		}
		lc.Entries = append(lc.Entries, entry)
	}
	if r := cfg.Rotation; r != nil {
		lc.Rotation = &logging.Rotation{Frequency: r.Frequency, LimitBytes: r.LogLimit, KeepFiles: r.KeepFiles, MaxAge: r.MaxAge}
	}
	return lc
}

// serverOptions maps the file's network settings onto the server.
func serverOptions(cfg *config.Config, logs *logging.Writer, log *slog.Logger) server.Options {
	o := server.Options{
		NetworkMagic: cfg.NetworkMagic,
		RequestNum:   cfg.LoRequestNum,
		EKGPeriod:    cfg.EKGRequestFreq,
		EKGFull:      cfg.EKGRequestFull,
		Logs:         logs,
		Log:          log,
	}
	for _, a := range cfg.Network.Addresses {
		ep := server.Endpoint{Net: a.Net, Addr: a.Addr, Raw: a.Raw}
		if cfg.Network.Mode == config.AcceptAt {
			o.AcceptAt = append(o.AcceptAt, ep)
		} else {
			o.ConnectTo = append(o.ConnectTo, ep)
		}
	}
	return o
}

// notYetServed lists configured features this version does not provide,
// so that start-up says so instead of silently ignoring them.
func notYetServed(cfg *config.Config) []string {
	var out []string
	if cfg.HasPrometheus != nil {
		out = append(out, "hasPrometheus")
	}
	if cfg.HasEKG != nil {
		out = append(out, "hasEKG")
	}
	if cfg.HasTimeseries != nil {
		out = append(out, "hasTimeseries")
	}
	if cfg.HasForwarding != nil {
		out = append(out, "hasForwarding")
	}
	if cfg.ResourceFreq > 0 {
		out = append(out, "resourceFreq")
	}
	return out
}
