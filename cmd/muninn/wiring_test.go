package main

import (
	"fmt"
	"log/slog"
	"testing"

	"muninn/config"
	"muninn/muxproto"
)

// TestLimitsAgreeWithMux: the configuration refuses exactly the
// muninnLimits the multiplexer would refuse at start-up, so that such a
// mistake is reported with its file, line and key rather than later
// without them.
func TestLimitsAgreeWithMux(t *testing.T) {
	if got, want := config.DefaultIngressLimitBytes, muxproto.DefaultConfig().IngressLimit; got != want {
		t.Fatalf("config's default ingress limit %d, the multiplexer's %d", got, want)
	}
	sizes := []int{0, 1, 1 << 20, 32 << 20, 64 << 20, 64<<20 + 1, 100 << 20}
	for _, ingress := range sizes {
		for _, msg := range sizes {
			data := fmt.Sprintf("networkMagic: 764824073\nnetwork: {tag: AcceptAt, contents: /run/m.sock}\n"+
				"logging: [{logRoot: /l, logMode: FileMode, logFormat: ForMachine}]\n"+
				"muninnLimits: {ingressLimitBytes: %d, maxMessageBytes: %d}\n", ingress, msg)
			cfg, _, cerr := config.Parse([]byte(data), "limits.yaml", config.WithWorkDir("/"))
			if cerr != nil {
				if merr := (muxproto.Config{IngressLimit: ingress, MaxMessageSize: msg}).Validate(); merr == nil {
					t.Errorf("ingress %d, message %d: the configuration refuses it (%v), the multiplexer would not", ingress, msg, cerr)
				}
				continue
			}
			o := serverOptions(cfg, nil, nil, slog.New(slog.DiscardHandler))
			if err := o.Mux.Validate(); err != nil {
				t.Errorf("ingress %d, message %d: the configuration takes it, the multiplexer refuses it: %v", ingress, msg, err)
			}
		}
	}
}
