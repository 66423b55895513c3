package datapoint_test

import (
	"errors"
	"testing"
	"time"

	"muninn/datapoint"
)

var t26NodeInfo = datapoint.NodeInfo{
	Name:            "relay-1",
	Protocol:        "Cardano",
	Version:         "10.1.4",
	Commit:          "1f4b0d8e2b7c5a6d9e0f1a2b3c4d5e6f7a8b9c0d",
	StartTime:       time.Date(2024, 1, 1, 0, 0, 0, 123456789, time.UTC),
	SystemStartTime: time.Date(2017, 9, 23, 21, 44, 51, 0, time.UTC),
}

func equalNodeInfo(a, b datapoint.NodeInfo) bool {
	return a.Name == b.Name && a.Protocol == b.Protocol && a.Version == b.Version && a.Commit == b.Commit &&
		a.StartTime.Equal(b.StartTime) && a.SystemStartTime.Equal(b.SystemStartTime)
}

func TestNodeInfoT26(t *testing.T) {
	t.Parallel()
	ni, err := datapoint.ParseNodeInfo([]byte(t26JSON))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if !equalNodeInfo(ni, t26NodeInfo) {
		t.Errorf("parse: got %+v, want %+v", ni, t26NodeInfo)
	}
	if got := string(t26NodeInfo.JSON()); got != t26JSON {
		t.Errorf("JSON:\n got %s\nwant %s", got, t26JSON)
	}
}

func TestParseNodeInfoAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		json string
		want datapoint.NodeInfo
	}{
		{"T26", t26JSON, t26NodeInfo},
		{"keys reordered, unknown keys, spaces", `{ "niVersion": "10.1.4", "extra": [1, {"a": null}], "niSystemStartTime": "2017-09-23T21:44:51Z",
			"niStartTime": "2024-01-01T00:00:00.123456789Z", "niProtocol": "Cardano", "niName": "relay-1",
			"niCommit": "1f4b0d8e2b7c5a6d9e0f1a2b3c4d5e6f7a8b9c0d" }`, t26NodeInfo},
		{"escapes", `{"niCommit":"","niName":"a\"b\\c\nd\u00e9\u0001","niProtocol":"","niStartTime":"1970-01-01T00:00:00Z","niSystemStartTime":"1970-01-01T00:00:00Z","niVersion":""}`,
			datapoint.NodeInfo{Name: "a\"b\\c\ndé\x01", StartTime: time.Unix(0, 0), SystemStartTime: time.Unix(0, 0)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ni, err := datapoint.ParseNodeInfo([]byte(tc.json))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if !equalNodeInfo(ni, tc.want) {
				t.Errorf("got %+v, want %+v", ni, tc.want)
			}
		})
	}
}

// nodeInfoWithStart is NodeInfo JSON whose niStartTime member is raw.
func nodeInfoWithStart(raw string) string {
	return `{"niCommit":"c","niName":"n","niProtocol":"Cardano","niStartTime":` + raw +
		`,"niSystemStartTime":"2017-09-23T21:44:51Z","niVersion":"1"}`
}

func TestNodeInfoTimes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want time.Time
		out  string // JSON() form
	}{
		{"whole seconds", "2017-09-23T21:44:51Z", time.Date(2017, 9, 23, 21, 44, 51, 0, time.UTC), "2017-09-23T21:44:51Z"},
		{"nanoseconds", "2024-01-01T00:00:00.123456789Z", time.Date(2024, 1, 1, 0, 0, 0, 123456789, time.UTC), "2024-01-01T00:00:00.123456789Z"},
		{"half a second", "2024-01-01T00:00:00.5Z", time.Date(2024, 1, 1, 0, 0, 0, 500_000_000, time.UTC), "2024-01-01T00:00:00.5Z"},
		{"trailing zeros", "2024-01-01T00:00:00.1000Z", time.Date(2024, 1, 1, 0, 0, 0, 100_000_000, time.UTC), "2024-01-01T00:00:00.1Z"},
		{"zero fraction", "2024-01-01T00:00:00.000Z", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), "2024-01-01T00:00:00Z"},
		{"picoseconds truncated", "2024-01-01T00:00:00.123456789999Z", time.Date(2024, 1, 1, 0, 0, 0, 123456789, time.UTC), "2024-01-01T00:00:00.123456789Z"},
		{"more than 12 digits", "2024-01-01T00:00:00.0000000019999999Z", time.Date(2024, 1, 1, 0, 0, 0, 1, time.UTC), "2024-01-01T00:00:00.000000001Z"},
		{"leap day", "2024-02-29T23:59:59Z", time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC), "2024-02-29T23:59:59Z"},
		{"leap second", "2016-12-31T23:59:60Z", time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), "2017-01-01T00:00:00Z"},
		{"year zero", "0000-01-01T00:00:00Z", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), "0000-01-01T00:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ni, err := datapoint.ParseNodeInfo([]byte(nodeInfoWithStart(`"` + tc.in + `"`)))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if !ni.StartTime.Equal(tc.want) {
				t.Errorf("parse: got %v, want %v", ni.StartTime, tc.want)
			}
			if got, want := string(ni.JSON()), nodeInfoWithStart(`"`+tc.out+`"`); got != want {
				t.Errorf("JSON:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestNodeInfoJSONLocalTime: times are written in UTC whatever their
// location.
func TestNodeInfoJSONLocalTime(t *testing.T) {
	t.Parallel()
	ni := t26NodeInfo
	ni.StartTime = ni.StartTime.In(time.FixedZone("X", 5*3600))
	ni.SystemStartTime = ni.SystemStartTime.In(time.FixedZone("Y", -3600))
	if got := string(ni.JSON()); got != t26JSON {
		t.Errorf("got %s", got)
	}
}

func TestNodeInfoJSONEscapes(t *testing.T) {
	t.Parallel()
	ni := datapoint.NodeInfo{Name: "a\"b\\c\nd\re\tf\x01\x1fg<h>&é\u2028\xff", StartTime: time.Unix(0, 0), SystemStartTime: time.Unix(0, 0)}
	want := `{"niCommit":"","niName":"a\"b\\c\nd\re\tf\u0001\u001fg<h>&é` + "\u2028\ufffd" + `","niProtocol":"","niStartTime":"1970-01-01T00:00:00Z","niSystemStartTime":"1970-01-01T00:00:00Z","niVersion":""}`
	if got := string(ni.JSON()); got != want {
		t.Errorf("JSON:\n got %s\nwant %s", got, want)
	}
}

func TestParseNodeInfoRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		json string
	}{
		{"empty", ``},
		{"not JSON", `{niName}`},
		{"null", `null`},
		{"array", `[]`},
		{"string", `"relay-1"`},
		{"empty object", `{}`},
		{"missing niVersion", `{"niCommit":"c","niName":"n","niProtocol":"Cardano","niStartTime":"2024-01-01T00:00:00Z","niSystemStartTime":"2017-09-23T21:44:51Z"}`},
		{"key in other case", `{"niCommit":"c","niname":"n","niProtocol":"Cardano","niStartTime":"2024-01-01T00:00:00Z","niSystemStartTime":"2017-09-23T21:44:51Z","niVersion":"1"}`},
		{"name null", `{"niCommit":"c","niName":null,"niProtocol":"Cardano","niStartTime":"2024-01-01T00:00:00Z","niSystemStartTime":"2017-09-23T21:44:51Z","niVersion":"1"}`},
		{"name number", `{"niCommit":"c","niName":1,"niProtocol":"Cardano","niStartTime":"2024-01-01T00:00:00Z","niSystemStartTime":"2017-09-23T21:44:51Z","niVersion":"1"}`},
		{"trailing garbage", t26JSON + `x`},
		{"time null", nodeInfoWithStart(`null`)},
		{"time number", nodeInfoWithStart(`1704067200`)},
		{"time without Z", nodeInfoWithStart(`"2024-01-01T00:00:00"`)},
		{"time with offset", nodeInfoWithStart(`"2024-01-01T00:00:00+00:00"`)},
		{"time with space", nodeInfoWithStart(`"2024-01-01 00:00:00Z"`)},
		{"time lower-case z", nodeInfoWithStart(`"2024-01-01T00:00:00z"`)},
		{"time without seconds", nodeInfoWithStart(`"2024-01-01T00:00Z"`)},
		{"time empty fraction", nodeInfoWithStart(`"2024-01-01T00:00:00.Z"`)},
		{"time fraction with letter", nodeInfoWithStart(`"2024-01-01T00:00:00.1aZ"`)},
		{"time comma fraction", nodeInfoWithStart(`"2024-01-01T00:00:00,5Z"`)},
		{"time month 13", nodeInfoWithStart(`"2024-13-01T00:00:00Z"`)},
		{"time month 0", nodeInfoWithStart(`"2024-00-01T00:00:00Z"`)},
		{"time 30 February", nodeInfoWithStart(`"2024-02-30T00:00:00Z"`)},
		{"time 29 February 2023", nodeInfoWithStart(`"2023-02-29T00:00:00Z"`)},
		{"time hour 24", nodeInfoWithStart(`"2024-01-01T24:00:00Z"`)},
		{"time minute 60", nodeInfoWithStart(`"2024-01-01T00:60:00Z"`)},
		{"time second 61", nodeInfoWithStart(`"2024-01-01T00:00:61Z"`)},
		{"time signed year", nodeInfoWithStart(`"+024-01-01T00:00:00Z"`)},
		{"time five-digit year", nodeInfoWithStart(`"12024-01-01T00:00:00Z"`)},
		{"time one-digit month", nodeInfoWithStart(`"2024-1-01T00:00:00Z"`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if ni, err := datapoint.ParseNodeInfo([]byte(tc.json)); !errors.Is(err, datapoint.ErrInvalidNodeInfo) {
				t.Errorf("got %+v, %v; want an error wrapping ErrInvalidNodeInfo", ni, err)
			}
		})
	}
}
