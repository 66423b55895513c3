// Package server accepts cardano-node forwarding connections and runs one
// session per connection: the handshake, then the TraceObject, EKG and
// DataPoint acceptor roles at once, with traces handed to the log writers.
// It owns the listeners (AcceptAt) and dialers (ConnectTo), the registry
// of connected nodes and their names, and, later, the HTTP surfaces.
//
// Its API is New, Serve, Shutdown and Close, after net/http.Server.
package server
