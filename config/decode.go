package config

import (
	"math"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// removedKeys are top-level keys of older cardano-tracer versions that
// real configurations still carry.
func removedKeys() map[string]string {
	return map[string]string{
		"hasRTView":   "removed in cardano-tracer 0.5.0 (no more RTView); ignored",
		"metricsComp": "removed in cardano-tracer 0.3.2; ignored",
	}
}

// use runs read on a present value and records its error.
func (d *decoder) use(v value, read func(value) error) {
	if v.n == nil {
		return
	}
	if err := read(v); err != nil {
		d.fail(v, err)
	}
}

// asEnum returns the index of the word v holds among words.
func asEnum(v value, words ...string) (int, error) {
	s, err := asString(v)
	if err != nil {
		return 0, err
	}
	for i, w := range words {
		if s == w {
			return i, nil
		}
	}
	return 0, problemf(ErrUnknownValue, "%q is not one of %s (case matters)", clip(s), strings.Join(words, ", "))
}

func (d *decoder) config(root value) *Config {
	o := d.object(root)
	if o == nil {
		return nil
	}
	c := &Config{LoRequestNum: 100, EKGRequestFreq: time.Second}
	if v, ok := o.require("networkMagic"); ok {
		d.use(v, func(v value) error {
			n, err := asUint(v, math.MaxUint32)
			c.NetworkMagic = uint32(n)
			return err
		})
	}
	if v, ok := o.require("network"); ok {
		c.Network = d.network(v)
	}
	if v, ok := o.require("logging"); ok {
		c.Logging = d.logging(v)
	}
	d.use(o.get("loRequestNum"), func(v value) error {
		n, err := asUint(v, math.MaxUint16)
		if err == nil {
			c.LoRequestNum = uint16(n)
		}
		return err
	})
	d.use(o.get("ekgRequestFreq"), func(v value) error {
		f, err := asDuration(v, 9, true)
		if err == nil {
			c.EKGRequestFreq = f
		}
		return err
	})
	d.use(o.get("ekgRequestFull"), func(v value) (err error) {
		c.EKGRequestFull, err = asBool(v)
		return err
	})
	c.HasEKG = d.ekgEndpoint(o.get("hasEKG"))
	c.HasPrometheus = d.endpoint(o.get("hasPrometheus"))
	c.HasTimeseries = d.endpoint(o.get("hasTimeseries"))
	c.TLSCertificate = d.tls(o.get("tlsCertificate"))
	c.HasForwarding = d.forwarding(o.get("hasForwarding"))
	c.Rotation = d.rotation(o.get("rotation"))
	d.use(o.get("verbosity"), func(v value) error {
		i, err := asEnum(v, "Minimum", "ErrorsOnly", "Maximum")
		if err == nil {
			c.Verbosity = Verbosity(i + 1)
		}
		return err
	})
	d.use(o.get("metricsNoSuffix"), func(v value) (err error) {
		c.MetricsNoSuffix, err = asBool(v)
		return err
	})
	c.MetricsHelp = d.metricsHelp(o.get("metricsHelp"))
	if v := o.get("prometheusLabels"); v.n != nil {
		if m, ok := d.stringMap(v); ok && len(m) > 0 {
			c.PrometheusLabels = m
		}
	}
	d.use(o.get("resourceFreq"), func(v value) error {
		f, err := asDuration(v, 6, false)
		if err == nil && f <= 0 {
			err = problemf(ErrRange, "%s: must be > 0 milliseconds (leave the key out to turn it off)", v.n.Value)
		}
		if err == nil {
			c.ResourceFreq = f
		}
		return err
	})
	c.Limits = d.limits(o.get("muninnLimits"))
	o.finish(removedKeys())
	for _, e := range []struct {
		key string
		ep  *Endpoint
	}{{"hasEKG", c.HasEKG}, {"hasPrometheus", c.HasPrometheus}, {"hasTimeseries", c.HasTimeseries}} {
		if e.ep != nil && e.ep.ForceSSL && c.TLSCertificate == nil {
			path := e.key + ".epForceSSL"
			d.warn(path, d.lineOf(path), "epForceSSL is true but there is no tlsCertificate: the port serves plain HTTP, as in cardano-tracer")
		}
	}
	return c
}

func (d *decoder) network(v value) Network {
	var nw Network
	o := d.object(v)
	if o == nil {
		return nw
	}
	defer o.finish(nil)
	tv, ok := o.require("tag")
	cv := o.get("contents")
	if !ok {
		return nw
	}
	i, err := asEnum(tv, "AcceptAt", "ConnectTo")
	if err != nil {
		d.fail(tv, err)
		return nw
	}
	nw.Mode = NetworkMode(i + 1)
	if cv.n == nil {
		d.fail(cv, ErrMissing)
		return nw
	}
	if nw.Mode == AcceptAt {
		nw.Addresses = []Address{d.address(cv)}
		return nw
	}
	items, ok := d.list(cv)
	if !ok {
		return nw
	}
	if len(items) == 0 {
		d.fail(cv, problemf(ErrEmpty, "ConnectTo needs at least one address"))
		return nw
	}
	for _, it := range items {
		nw.Addresses = append(nw.Addresses, d.address(it))
	}
	return nw
}

// address reads one address; on error it records it and returns the zero
// Address, so that list indexes stay those of the file.
func (d *decoder) address(v value) Address {
	s, err := asString(v)
	if err != nil {
		d.fail(v, err)
		return Address{}
	}
	a, err := ParseAddress(s)
	if err != nil {
		d.fail(v, err)
		return Address{}
	}
	return a.resolve(d.workDir)
}

func (d *decoder) logging(v value) []Logging {
	items, ok := d.list(v)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.fail(v, problemf(ErrEmpty, "at least one logging entry is needed"))
		return nil
	}
	out := make([]Logging, len(items))
	for i, it := range items {
		o := d.object(it)
		if o == nil {
			continue
		}
		l := &out[i]
		if rv, ok := o.require("logRoot"); ok {
			d.use(rv, func(v value) error {
				s, err := asString(v)
				l.Root = absPath(d.workDir, s)
				return err
			})
		}
		if mv, ok := o.require("logMode"); ok {
			d.use(mv, func(v value) error {
				i, err := asEnum(v, "FileMode", "JournalMode")
				if err == nil {
					l.Mode = LogMode(i + 1)
				}
				return err
			})
		}
		if fv, ok := o.require("logFormat"); ok {
			d.use(fv, func(v value) error {
				i, err := asEnum(v, "ForHuman", "ForMachine")
				if err == nil {
					l.Format = LogFormat(i + 1)
				}
				return err
			})
		}
		o.finish(nil)
	}
	return out
}

// ekgEndpoint also accepts the list form of hasEKG from before
// cardano-tracer 0.3 ([EP, EP]) and uses its first endpoint.
func (d *decoder) ekgEndpoint(v value) *Endpoint {
	if v.n == nil || v.n.Kind != yaml.SequenceNode {
		return d.endpoint(v)
	}
	items, ok := d.list(v)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.fail(v, problemf(ErrEmpty, "an empty list is not an endpoint"))
		return nil
	}
	d.warn(v.path, v.line, "the list form of hasEKG (cardano-tracer before 0.3) is accepted: only its first endpoint is used (the list has %d)", len(items))
	first := items[0]
	first.path = v.path
	if first.n == nil {
		d.fail(first, problemf(ErrType, "expected a mapping, got null"))
		return nil
	}
	return d.endpoint(first)
}

func (d *decoder) endpoint(v value) *Endpoint {
	if v.n == nil {
		return nil
	}
	o := d.object(v)
	if o == nil {
		return nil
	}
	ep := &Endpoint{}
	if hv, ok := o.require("epHost"); ok {
		d.use(hv, func(v value) (err error) {
			ep.Host, err = asString(v)
			return err
		})
	}
	if pv, ok := o.require("epPort"); ok {
		d.use(pv, func(v value) error {
			n, err := asInt(v, math.MinInt, math.MaxInt)
			ep.Port = int(n)
			return err
		})
	}
	d.use(o.get("epForceSSL"), func(v value) (err error) {
		ep.ForceSSL, err = asBool(v)
		return err
	})
	o.finish(nil)
	return ep
}

func (d *decoder) tls(v value) *TLSCertificate {
	if v.n == nil {
		return nil
	}
	o := d.object(v)
	if o == nil {
		return nil
	}
	t := &TLSCertificate{}
	for _, f := range []struct {
		key string
		dst *string
	}{{"certificateFile", &t.CertFile}, {"certificateKeyFile", &t.KeyFile}} {
		if fv, ok := o.require(f.key); ok {
			d.use(fv, func(v value) error {
				s, err := asString(v)
				*f.dst = absPath(d.workDir, s)
				return err
			})
		}
	}
	if cv := o.get("certificateChain"); cv.n != nil {
		items, _ := d.list(cv)
		for _, it := range items {
			s, err := asString(it)
			if err != nil {
				d.fail(it, err)
			}
			t.Chain = append(t.Chain, absPath(d.workDir, s))
		}
	}
	o.finish(nil)
	return t
}

func (d *decoder) metricsHelp(v value) *MetricsHelp {
	if v.n == nil {
		return nil
	}
	switch v.n.Kind {
	case yaml.ScalarNode:
		if v.n.Value == "" {
			d.warn(v.path, v.line, "empty file name: no help texts (cardano-tracer ignores it too)")
			return nil
		}
		return &MetricsHelp{File: absPath(d.workDir, v.n.Value)}
	case yaml.MappingNode:
		if m, ok := d.stringMap(v); ok {
			return &MetricsHelp{Map: m}
		}
		return nil
	}
	d.fail(v, problemf(ErrType, "expected a file name or a mapping of metric names to help texts, got %s", describe(v.n)))
	return nil
}
