package config

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// Scalars are classified as Data.Yaml (cardano-tracer's YAML library)
// classifies them, not as YAML 1.2 does.
func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		yaml string
		want scalarKind
	}{
		{"~", scalarNull}, {"null", scalarNull}, {"Null", scalarNull}, {"NULL", scalarNull}, {"nULL", scalarString},
		{"''", scalarString}, {`""`, scalarString},
		{"y", scalarBool}, {"N", scalarBool}, {"Off", scalarBool}, {"TRUE", scalarBool}, {"tRUE", scalarString},
		{"'yes'", scalarString}, {"!!str yes", scalarString}, {"!!str 12", scalarString},
		{"12", scalarNumber}, {"-12", scalarNumber}, {"+12", scalarNumber}, {"1.5", scalarNumber},
		{"1.5E+3", scalarNumber}, {"1e-3", scalarNumber}, {"0777", scalarNumber}, {"0x1f", scalarNumber},
		{"0xAB", scalarNumber}, {"0o17", scalarNumber},
		{"0X1f", scalarString}, {"0o8", scalarString}, {"0x", scalarString}, {"-0x1", scalarString},
		{"5.", scalarString}, {".5", scalarString}, {"1e", scalarString}, {"1e+", scalarString},
		{"1_000", scalarString}, {".inf", scalarString}, {".nan", scalarString}, {"0b101", scalarString},
		{"'12'", scalarString}, {">-\n  12", scalarString}, {"|-\n  12", scalarNumber},
		{"127.0.0.1", scalarString}, {"0.0.0.0:34567", scalarString},
	}
	for _, tc := range tests {
		t.Run(tc.yaml, func(t *testing.T) {
			t.Parallel()
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tc.yaml), &doc); err != nil {
				t.Fatal(err)
			}
			if got := classify(doc.Content[0]); got != tc.want {
				t.Errorf("classify(%q) = %d, want %d", tc.yaml, got, tc.want)
			}
		})
	}
}

func TestNumberValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text  string
		k     int // power of ten to scale by
		want  string
		exact bool
		ok    bool
	}{
		{"0777", 0, "777", true, true},
		{"0x1F", 0, "31", true, true},
		{"0o17", 0, "15", true, true},
		{"1e3", 0, "1000", true, true},
		{"1.0", 0, "1", true, true},
		{"-2.50", 0, "-2", false, true},
		{"0.5", 9, "500000000", true, true},
		{"1.5e-3", 9, "1500000", true, true},
		{"1e-10", 9, "0", false, true},
		{"0e999999999", 0, "0", true, true},
		{"1e60", 0, "", false, false},
		{"1e59", 0, "100000000000000000000000000000000000000000000000000000000000", true, true},
		{"18446744073709551615", 0, "18446744073709551615", true, true},
	}
	for _, tc := range tests {
		n, huge, ok := parseNumber(tc.text)
		if !ok || huge {
			t.Errorf("parseNumber(%q): ok %v huge %v", tc.text, ok, huge)
			continue
		}
		v, exact, ok := n.times10(tc.k)
		if ok != tc.ok || ok && (v.String() != tc.want || exact != tc.exact) {
			t.Errorf("%q × 10^%d = %v (exact %v, ok %v), want %s (exact %v, ok %v)", tc.text, tc.k, v, exact, ok, tc.want, tc.exact, tc.ok)
		}
	}
}
