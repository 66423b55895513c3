package ekg

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
)

// maxHelpCache bounds the names whose lookup result Help remembers; past
// it, lookups are computed each time. Names longer than maxCachedName are
// never remembered: the cache outlives the nodes whose names it holds
// (until the next reload), so without this a node sending long names
// could make it hold gigabytes (65 536 names of 512 KiB) after it left.
// Real metric names are well under 200 bytes.
const (
	maxHelpCache  = 1 << 16
	maxCachedName = 256
)

// Help is cardano-tracer's metricsHelp (BEHAVIOUR.md §f.4): help texts keyed
// by internal metric name. Lookup tries the keys in ascending code-point
// order, and the first key that occurs anywhere inside the name wins
// (case-sensitive; a short key also matches unrelated longer names, a quirk
// kept for compatibility). Results are cached per name. A Help is safe for
// concurrent use; a nil *Help has no entries.
type Help struct {
	keys  []string   // sorted ascending
	texts []helpText // texts[i] belongs to keys[i]

	mu    sync.RWMutex
	cache map[string]int32 // name → index into keys, or -1
}

// helpText is one help text, raw and escaped for each format.
type helpText struct {
	raw  string
	om   string // OpenMetrics: \\, \n, \" escaped, invalid UTF-8 replaced
	text string // text 0.0.4: \\ and \n escaped, invalid UTF-8 replaced
}

// NewHelp returns the help texts of m; entries with an empty text are
// dropped.
func NewHelp(m map[string]string) *Help {
	h := &Help{cache: make(map[string]int32)}
	for k, v := range m {
		if v != "" {
			h.keys = append(h.keys, k)
		}
	}
	slices.Sort(h.keys) // byte order is code-point order for UTF-8
	h.texts = make([]helpText, len(h.keys))
	for i, k := range h.keys {
		raw := m[k]
		h.texts[i] = helpText{
			raw:  raw,
			om:   string(appendHelpEscaped(nil, raw, true)),
			text: string(appendHelpEscaped(nil, raw, false)),
		}
	}
	return h
}

// LoadHelp reads a JSON object file mapping internal names to help texts.
// cardano-tracer treats a missing or broken file as no help without a
// word; the caller decides what to say.
func LoadHelp(path string) (*Help, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read metrics help: %w", err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode metrics help %s: %w", path, err)
	}
	return NewHelp(m), nil
}

// Len returns the number of entries.
func (h *Help) Len() int {
	if h == nil {
		return 0
	}
	return len(h.keys)
}

// Lookup returns the help text for an internal metric name.
func (h *Help) Lookup(name string) (string, bool) {
	i := h.index(name)
	if i < 0 {
		return "", false
	}
	return h.texts[i].raw, true
}

// escaped returns the help text for name escaped for format f.
func (h *Help) escaped(name string, f Format) (string, bool) {
	i := h.index(name)
	if i < 0 {
		return "", false
	}
	return h.escapedAt(i, f), true
}

// escapedAt returns text i escaped for format f.
func (h *Help) escapedAt(i int, f Format) string {
	if f == OpenMetrics {
		return h.texts[i].om
	}
	return h.texts[i].text
}

// index returns the index of the first key inside name, or -1.
func (h *Help) index(name string) int {
	if h == nil || len(h.keys) == 0 {
		return -1
	}
	h.mu.RLock()
	i, ok := h.cache[name]
	n := len(h.cache)
	h.mu.RUnlock()
	if ok {
		return int(i)
	}
	i = -1
	for j, k := range h.keys {
		if strings.Contains(name, k) {
			i = int32(j)
			break
		}
	}
	if n < maxHelpCache && len(name) <= maxCachedName {
		h.mu.Lock()
		if len(h.cache) < maxHelpCache {
			// A copy: name may be part of a snapshot's name block.
			h.cache[strings.Clone(name)] = i
		}
		h.mu.Unlock()
	}
	return int(i)
}

// appendHelpEscaped appends a HELP text: a backslash as \\ and a newline
// as \n in both formats, a double quote as \" in OpenMetrics (whose HELP
// grammar has no raw quote), and each invalid UTF-8 byte as U+FFFD.
func appendHelpEscaped(b []byte, s string, om bool) []byte { return appendEscaped(b, s, om) }
