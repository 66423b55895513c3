package config

import (
	"math"
	"time"
)

// Defaults of cardano-tracer (and trace-dispatcher's forwarder options).
const (
	defaultRotationFrequency = 60 * time.Second
	defaultRotationMaxAge    = 24 * time.Hour
	defaultQueueSize         = 192
	defaultConnQueueSize     = 128
	defaultDisconnQueueSize  = 192
	defaultReconnectDelay    = 45 * time.Second
)

// rotation reads RotationParams. Quirk kept from cardano-tracer: a bad
// value in an optional field (rpFrequencySecs, rpMaxAgeMinutes,
// rpMaxAgeHours) is not an error but falls back to the default; Muninn
// warns where cardano-tracer is silent. A bad required field is an error.
func (d *decoder) rotation(v value) *Rotation {
	if v.n == nil {
		return nil
	}
	o := d.object(v)
	if o == nil {
		return nil
	}
	r := &Rotation{Frequency: defaultRotationFrequency, MaxAge: defaultRotationMaxAge}
	if lv, ok := o.require("rpLogLimitBytes"); ok {
		d.use(lv, func(v value) (err error) {
			r.LogLimit, err = asUint(v, math.MaxUint64)
			return err
		})
	}
	if kv, ok := o.require("rpKeepFilesNum"); ok {
		d.use(kv, func(v value) error {
			n, err := asUint(v, math.MaxUint32)
			r.KeepFiles = uint32(n)
			return err
		})
	}
	if fv := o.get("rpFrequencySecs"); fv.n != nil {
		n, err := asUint(fv, math.MaxUint32)
		switch {
		case err != nil:
			d.fallback(fv, err.Error(), "60 s")
		case n == 0:
			// cardano-tracer would check in a tight loop.
			d.warn(fv.path, fv.line, "0 would make the rotation check spin; Muninn uses the default (60 s)")
		default:
			r.Frequency = time.Duration(n) * time.Second
		}
	}
	minutes := false
	if mv := o.get("rpMaxAgeMinutes"); mv.n != nil {
		n, err := asUint(mv, math.MaxUint64)
		if err != nil {
			d.fallback(mv, err.Error(), "rpMaxAgeHours, else 24 h")
		} else {
			r.MaxAge = scaleClamped(n, time.Minute)
			minutes = true
		}
	}
	if hv := o.get("rpMaxAgeHours"); hv.n != nil {
		if minutes {
			d.warn(hv.path, hv.line, "ignored: rpMaxAgeMinutes is set and wins")
		} else if n, err := asUint(hv, math.MaxUint64); err != nil {
			d.fallback(hv, err.Error(), "24 h")
		} else {
			r.MaxAge = scaleClamped(n, time.Hour)
		}
	}
	o.finish(nil)
	return r
}

func (d *decoder) fallback(v value, why, def string) {
	d.warn(v.path, v.line, "%s; the default (%s) is used, as cardano-tracer silently does", why, def)
}

// forwarding reads hasForwarding: [network, namespaces, options].
func (d *decoder) forwarding(v value) *Forwarding {
	if v.n == nil {
		return nil
	}
	items, ok := d.list(v)
	if !ok {
		return nil
	}
	if len(items) != 3 {
		d.fail(v, problemf(ErrInvalid, "expected 3 elements [network, namespaces, options], got %d", len(items)))
		return nil
	}
	f := &Forwarding{QueueSize: defaultQueueSize, Verbosity: Minimum, MaxReconnectDelay: defaultReconnectDelay}
	if items[0].n == nil {
		d.fail(items[0], ErrMissing)
	} else {
		f.Network = d.network(items[0])
	}
	f.Namespaces = d.namespaces(items[1])
	d.forwarderOptions(items[2], f)
	if f.Network.Mode == ConnectTo {
		path := items[0].path + ".tag"
		d.warn(path, d.lineOf(path), "ConnectTo is a Muninn extension here: Muninn dials out, while cardano-tracer aborts at startup")
	}
	return f
}

// namespaces reads null (everything) or a list of prefixes, each a list of
// segments. An empty list stays empty and non-nil: nothing is forwarded.
func (d *decoder) namespaces(v value) [][]string {
	if v.n == nil {
		return nil
	}
	items, ok := d.list(v)
	if !ok {
		return nil
	}
	out := make([][]string, 0, len(items))
	for _, it := range items {
		segs, ok := d.list(it)
		if !ok {
			continue
		}
		prefix := make([]string, 0, len(segs))
		for _, s := range segs {
			text, err := asString(s)
			if err != nil {
				d.fail(s, err)
			}
			prefix = append(prefix, text)
		}
		out = append(out, prefix)
	}
	return out
}

// forwarderOptions reads trace-dispatcher's TraceOptionForwarder. Every
// field is optional; null is taken as {} (cardano-tracer needs {}).
func (d *decoder) forwarderOptions(v value, f *Forwarding) {
	if v.n == nil {
		return
	}
	o := d.object(v)
	if o == nil {
		return
	}
	readSize := func(v value, dst *int) {
		d.use(v, func(v value) error {
			n, err := asUint(v, math.MaxInt)
			if err == nil {
				*dst = int(n)
			}
			return err
		})
	}
	qv, cv, dv := o.get("queueSize"), o.get("connQueueSize"), o.get("disconnQueueSize")
	if qv.n != nil {
		readSize(qv, &f.QueueSize)
		for _, old := range []value{cv, dv} {
			if old.n != nil {
				d.warn(old.path, old.line, "ignored: queueSize is set")
			}
		}
	} else {
		conn, disconn := defaultConnQueueSize, defaultDisconnQueueSize
		readSize(cv, &conn)
		readSize(dv, &disconn)
		f.QueueSize = max(conn, disconn)
	}
	d.use(o.get("verbosity"), func(v value) error {
		i, err := asEnum(v, "Minimum", "Maximum")
		if err == nil {
			f.Verbosity = [...]Verbosity{Minimum, Maximum}[i]
		}
		return err
	})
	d.use(o.get("maxReconnectDelay"), func(v value) error {
		n, err := asUint(v, uint64(math.MaxInt64/int64(time.Second)))
		if err == nil {
			f.MaxReconnectDelay = time.Duration(n) * time.Second
		}
		return err
	})
	o.finish(nil)
}
