package config

import (
	"math/big"
	"strings"
)

// number is a numeric scalar as cardano-tracer's YAML library (Haskell
// Data.Yaml) reads it: value = mant × 10^exp, exactly. It recognises "0x"
// hexadecimal, "0o" octal and [+-]digits[.digits][(e|E)[+-]digits]; every
// other plain scalar is a string there. So "0777" is 777, not 511 as in
// YAML 1.1, and "1_000", ".5", "5.", ".inf" are strings.
type number struct {
	mant *big.Int
	exp  int
}

// maxDigits bounds the significant digits of a number; longer ones are
// out of range for every key anyway, and bounding them bounds the work.
const maxDigits = 400

// maxExp is where exponents are clamped: any nonzero value with an
// exponent that large is out of range for every key.
const maxExp = 100000

// parseNumber reports whether s is a number in Data.Yaml's grammar, and its
// value. ok is true but huge is set when the value has too many digits to
// be represented.
func parseNumber(s string) (n number, huge, ok bool) {
	if rest, found := strings.CutPrefix(s, "0x"); found {
		return parseBase(rest, 16)
	}
	if rest, found := strings.CutPrefix(s, "0o"); found {
		return parseBase(rest, 8)
	}
	return parseDecimal(s)
}

func parseBase(s string, base int) (number, bool, bool) {
	if s == "" {
		return number{}, false, false
	}
	for i := 0; i < len(s); i++ {
		if digitValue(s[i]) >= base {
			return number{}, false, false
		}
	}
	s = strings.TrimLeft(s, "0")
	if len(s) > maxDigits {
		return number{}, true, true
	}
	m, ok := new(big.Int).SetString("0"+s, base)
	if !ok {
		return number{}, false, false
	}
	return number{mant: m}, false, true
}

func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return 99
}

func parseDecimal(s string) (number, bool, bool) {
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	intPart, s := cutDigits(s)
	if intPart == "" {
		return number{}, false, false
	}
	frac := ""
	if strings.HasPrefix(s, ".") {
		frac, s = cutDigits(s[1:])
		if frac == "" {
			return number{}, false, false
		}
	}
	exp := 0
	if s != "" && (s[0] == 'e' || s[0] == 'E') {
		rest := s[1:]
		eneg := false
		if rest != "" && (rest[0] == '+' || rest[0] == '-') {
			eneg = rest[0] == '-'
			rest = rest[1:]
		}
		var digits string
		digits, s = cutDigits(rest)
		if digits == "" {
			return number{}, false, false
		}
		for i := 0; i < len(digits) && exp < maxExp; i++ {
			exp = exp*10 + int(digits[i]-'0')
		}
		exp = min(exp, maxExp)
		if eneg {
			exp = -exp
		}
	}
	if s != "" {
		return number{}, false, false
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	if len(digits) > maxDigits {
		return number{}, true, true
	}
	m, _ := new(big.Int).SetString("0"+digits, 10)
	if neg {
		m.Neg(m)
	}
	return number{mant: m, exp: exp - len(frac)}, false, true
}

// cutDigits splits s after its leading ASCII digits.
func cutDigits(s string) (digits, rest string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i], s[i:]
}

// times10 returns the value × 10^k truncated toward zero, whether that is
// exact, and ok=false when the magnitude is 10^60 or more (out of range
// for every key).
func (n number) times10(k int) (v *big.Int, exact, ok bool) {
	if n.mant.Sign() == 0 {
		return new(big.Int), true, true
	}
	e := n.exp + k
	switch {
	case e > 60:
		return nil, false, false
	case e >= 0:
		v = new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(e)), nil)
		v.Mul(v, n.mant)
		if new(big.Int).Abs(v).Cmp(limit60) >= 0 {
			return nil, false, false
		}
		return v, true, true
	case -e > maxDigits+1:
		return new(big.Int), false, true
	}
	div := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-e)), nil)
	q, r := new(big.Int).QuoRem(n.mant, div, new(big.Int))
	if new(big.Int).Abs(q).Cmp(limit60) >= 0 {
		return nil, false, false
	}
	return q, r.Sign() == 0, true
}

// limit60 is 10^60. It is never modified.
var limit60 = new(big.Int).Exp(big.NewInt(10), big.NewInt(60), nil)
