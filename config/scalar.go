package config

import (
	"math"
	"math/big"
	"time"

	"gopkg.in/yaml.v3"
)

// asString reads any non-null scalar as text. cardano-tracer would reject
// a number or boolean where a string belongs (logRoot: 2024); Muninn takes
// its text, since a path or host named "2024" is what the operator meant.
func asString(v value) (string, error) {
	if v.n == nil || v.n.Kind != yaml.ScalarNode {
		return "", problemf(ErrType, "expected a string, got %s", describe(v.n))
	}
	return v.n.Value, nil
}

// asBool reads true/false and the other boolean words of classify.
// A quoted "true" is a string, so an error, as in cardano-tracer.
func asBool(v value) (bool, error) {
	if v.n != nil && v.n.Kind == yaml.ScalarNode && classify(v.n) == scalarBool {
		b, _ := boolWord(v.n.Value)
		return b, nil
	}
	return false, problemf(ErrType, "expected true or false, got %s", describe(v.n))
}

// asNumber reads a numeric scalar. A quoted number ("30") is a string,
// so an error, as in cardano-tracer.
func asNumber(v value, what string) (number, error) {
	if v.n == nil || v.n.Kind != yaml.ScalarNode || classify(v.n) != scalarNumber {
		return number{}, problemf(ErrType, "expected %s, got %s", what, describe(v.n))
	}
	num, huge, _ := parseNumber(v.n.Value)
	if huge {
		return number{}, problemf(ErrRange, "%s has too many digits", clip(v.n.Value))
	}
	return num, nil
}

// asInteger reads an integer in lo..hi. A float with an integral value
// (1.0, 1e3) is accepted, as Aeson accepts it.
func asInteger(v value, lo, hi *big.Int) (*big.Int, error) {
	num, err := asNumber(v, "an integer")
	if err != nil {
		return nil, err
	}
	i, exact, ok := num.times10(0)
	if ok && !exact {
		return nil, problemf(ErrType, "expected an integer, got %s", v.n.Value)
	}
	if !ok || i.Cmp(lo) < 0 || i.Cmp(hi) > 0 {
		return nil, problemf(ErrRange, "%s is not in %s..%s", clip(v.n.Value), lo, hi)
	}
	return i, nil
}

func asUint(v value, hi uint64) (uint64, error) {
	i, err := asInteger(v, new(big.Int), new(big.Int).SetUint64(hi))
	if err != nil {
		return 0, err
	}
	return i.Uint64(), nil
}

func asInt(v value, lo, hi int64) (int64, error) {
	i, err := asInteger(v, big.NewInt(lo), big.NewInt(hi))
	if err != nil {
		return 0, err
	}
	return i.Int64(), nil
}

// asDuration reads a count of units, one unit being 10^pow10 ns (9 for
// seconds, 6 for milliseconds). With fractions, parts of a unit are kept
// to the nanosecond (truncated); without, the count must be an integer.
// The result may be negative; callers check the sign their key needs.
func asDuration(v value, pow10 int, fractions bool) (time.Duration, error) {
	num, err := asNumber(v, "a number")
	if err != nil {
		return 0, err
	}
	if !fractions {
		if _, exact, ok := num.times10(0); ok && !exact {
			return 0, problemf(ErrType, "expected an integer, got %s", v.n.Value)
		}
	}
	ns, _, ok := num.times10(pow10)
	if !ok || !ns.IsInt64() {
		return 0, problemf(ErrRange, "%s is too long for a duration (at most about 292 years)", clip(v.n.Value))
	}
	if ns.Sign() == 0 && num.mant.Sign() != 0 {
		return 0, problemf(ErrRange, "%s is shorter than a nanosecond", clip(v.n.Value))
	}
	return time.Duration(ns.Int64()), nil
}

// scaleClamped multiplies a count by a unit, clamping at the largest
// Duration instead of overflowing.
func scaleClamped(count uint64, unit time.Duration) time.Duration {
	if count > uint64(math.MaxInt64/int64(unit)) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(count) * unit
}
