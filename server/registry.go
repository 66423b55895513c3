package server

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"muninn/datapoint"
	"muninn/ekg"
	"muninn/naming"
)

// reservedSlugs are routes of Muninn's own that no node may take.
var reservedSlugs = []string{"targets", "metrics"}

// Node is one connected node as the rest of Muninn sees it.
type Node struct {
	ID          string // NodeId: from the connection, unique among live nodes
	Remote      string // the peer's address, for diagnostics
	ConnectedAt time.Time

	store *ekg.Store // metrics polled on this connection; dropped with it

	named chan struct{} // closed once the fields below are set
	name  string        // NodeName
	dir   string        // log directory name (one path component)
	slug  string        // HTTP route
	info  *datapoint.NodeInfo
}

// Store returns the node's EKG metrics, as polled on this connection.
func (n *Node) Store() *ekg.Store { return n.store }

// Identity is a node's resolved names.
type Identity struct {
	Name, Dir, Slug string
	Info            *datapoint.NodeInfo // nil when the node gave none
}

// Identity returns the node's names, or false while they are unresolved.
func (n *Node) Identity() (Identity, bool) {
	select {
	case <-n.named:
		return Identity{Name: n.name, Dir: n.dir, Slug: n.slug, Info: n.info}, true
	default:
		return Identity{}, false
	}
}

// Registry holds the connected nodes and the names they hold. A name, a
// directory and a slug each belong to at most one live node.
type Registry struct {
	mu    sync.Mutex
	nodes map[string]*Node // by ID
	held  map[string]*Node // "name:", "dir:" and "slug:" keys
	// maxMetrics bounds each node's EKG store (0: ekg.DefaultMaxMetrics).
	maxMetrics int
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{nodes: map[string]*Node{}, held: map[string]*Node{}}
}

// add registers a new connection under id. A NodeId is normally unique
// already (a counter or a source port is part of it); if it is not (two
// connections to the same ConnectTo address, say), a suffix makes it so.
func (r *Registry) add(id, remote string, now time.Time) *Node {
	r.mu.Lock()
	defer r.mu.Unlock()
	unique := id
	for k := 2; r.nodes[unique] != nil; k++ {
		unique = fmt.Sprintf("%s-%d", id, k)
	}
	n := &Node{ID: unique, Remote: remote, ConnectedAt: now, named: make(chan struct{}), store: ekg.NewStoreLimit(r.maxMetrics)}
	r.nodes[unique] = n
	return n
}

// name gives n its NodeName from the node's own name (empty when the node
// gave none). Like cardano-tracer, a node without a usable name, or whose
// name is held by another live node, is named by its NodeId; unlike
// cardano-tracer, that already holds for its first batch, and the
// directory and slug are checked for clashes as well as the name.
func (r *Registry) name(n *Node, given string, info *datapoint.NodeInfo) Identity {
	r.mu.Lock()
	defer r.mu.Unlock()
	candidates := []string{n.ID}
	if s := naming.SanitizeName(given); s != "" {
		candidates = []string{s, n.ID}
	}
	for k := 2; ; k++ {
		for _, c := range candidates {
			dir, slug := naming.DirName(c), naming.Slug(c)
			if slug == "" {
				// A name with nothing ASCII in it (東京ノード) keeps its name
				// and directory; only its route comes from the NodeId.
				slug = naming.Slug(n.ID)
			}
			if r.free(n, "name:"+c) && r.free(n, "dir:"+dir) && slug != "" &&
				r.free(n, "slug:"+slug) && !slices.Contains(reservedSlugs, slug) {
				n.name, n.dir, n.slug, n.info = c, dir, slug, info
				r.held["name:"+c], r.held["dir:"+dir], r.held["slug:"+slug] = n, n, n
				close(n.named)
				return Identity{Name: c, Dir: dir, Slug: slug, Info: info}
			}
		}
		candidates = []string{fmt.Sprintf("%s-%d", n.ID, k)}
	}
}

func (r *Registry) free(n *Node, key string) bool {
	h := r.held[key]
	return h == nil || h == n
}

// bySlug returns the named node with that route, or nil.
func (r *Registry) bySlug(slug string) *Node {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.held["slug:"+slug]
}

// remove forgets a node and frees its names.
func (r *Registry) remove(n *Node) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.nodes, n.ID)
	for k, h := range r.held {
		if h == n {
			delete(r.held, k)
		}
	}
}

// Nodes returns the connected nodes ordered by NodeId.
func (r *Registry) Nodes() []*Node {
	r.mu.Lock()
	out := make([]*Node, 0, len(r.nodes))
	for _, n := range r.nodes {
		out = append(out, n)
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b *Node) int { return strings.Compare(a.ID, b.ID) })
	return out
}
