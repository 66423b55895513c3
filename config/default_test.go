package config

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefault(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := Default(dir)
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	under := func(name, p string) {
		t.Helper()
		rel, err := filepath.Rel(dir, p)
		if err != nil || !filepath.IsAbs(p) || strings.HasPrefix(rel, "..") {
			t.Errorf("%s = %q, want a path under %q", name, p, dir)
		}
	}
	if c.NetworkMagic != 764824073 {
		t.Errorf("NetworkMagic = %d", c.NetworkMagic)
	}
	if c.Network.Mode != AcceptAt || len(c.Network.Addresses) != 1 || c.Network.Addresses[0].Net != "unix" {
		t.Fatalf("Network = %+v", c.Network)
	}
	under("socket", c.Network.Addresses[0].Addr)
	if filepath.Base(c.Network.Addresses[0].Addr) != "muninn.sock" {
		t.Errorf("socket = %q", c.Network.Addresses[0].Addr)
	}
	if len(c.Logging) != 1 || c.Logging[0].Mode != FileMode || c.Logging[0].Format != ForMachine {
		t.Fatalf("Logging = %+v", c.Logging)
	}
	under("logRoot", c.Logging[0].Root)
	if ep := c.HasPrometheus; ep == nil || ep.Host != "127.0.0.1" || ep.Port != 12808 {
		t.Errorf("HasPrometheus = %+v", ep)
	}
	want := Rotation{Frequency: time.Minute, LogLimit: 10 << 20, KeepFiles: 10, MaxAge: 24 * time.Hour}
	if c.Rotation == nil || *c.Rotation != want {
		t.Errorf("Rotation = %+v, want %+v", c.Rotation, want)
	}
	// Each call gives a fresh value.
	c.Logging[0].Root = "changed"
	if Default(dir).Logging[0].Root == "changed" {
		t.Error("Default shares state between calls")
	}
}

// The embedded file is an ordinary configuration with no warnings, and
// DefaultFile gives its text.
func TestDefaultFile(t *testing.T) {
	t.Parallel()
	text := DefaultFile()
	c, ws, err := Parse(text, "default.yaml", WithWorkDir("/srv/muninn"))
	if err != nil || len(ws) != 0 {
		t.Fatalf("err %v, warnings %v", err, ws)
	}
	if got := Default("/srv/muninn"); c.Network.Addresses[0] != got.Network.Addresses[0] || c.Logging[0] != got.Logging[0] {
		t.Errorf("Parse(DefaultFile()) = %+v, Default = %+v", c, got)
	}
	text[0] ^= 0xff
	if bytes.Equal(text, DefaultFile()) {
		t.Error("DefaultFile shares its bytes")
	}
}
