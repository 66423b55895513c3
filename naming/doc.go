// Package naming derives the names cardano-tracer gives a connected node:
// the NodeId (from the connection's peer address), the NodeName (from the
// node's NodeInfo data point), the log sub-directory and the HTTP route slug
// (BEHAVIOUR.md §c). Operators' scripts, log shippers and Prometheus configs
// depend on these exact strings, so each function reproduces the Haskell
// code it is named after, character for character:
//
//   - [NodeID] is connIdToNodeId (cardano-tracer Cardano/Tracer/Utils.hs): a
//     clean-up of the peer address as Haskell's show prints it. The printed
//     form comes from [AcceptUnixPeer], [DialledUnix], [TCPPeer],
//     [TCPPeerOnIPv6Listener], [ShowSockAddr] or [Dialled].
//   - [SanitizeName] is sanitizeNodeName (same file).
//   - [DirName] is the sub-directory choice of writeTraceObjectsToFile
//     (Cardano/Tracer/Handlers/Logs/File.hs), made safe (see below).
//   - [Slug] and [UnicodeSlug] are slugify and slugifyUnicode of the
//     Hackage package slugify 0.1.0.2 (Text.Slugify).
//
// # Deliberate deviations
//
// [DirName] always returns one safe path component. Where cardano-tracer
// would produce a name the file system rejects, or one that escapes or
// reuses the log root, Muninn chooses differently:
//
//   - A component longer than [MaxDirNameBytes] bytes (cardano-tracer fails
//     with ENAMETOOLONG), or one holding a control character (C0, DEL, C1:
//     cardano-tracer creates such a directory, which breaks line-oriented
//     tools) or invalid UTF-8 (impossible in Haskell Text) is rewritten: each
//     control character, invalid byte and '/' becomes '_', the result is cut
//     at a rune boundary and "-" plus the first 16 hex digits of the SHA-256
//     of the unmodified component is appended. Distinct components therefore
//     stay distinct, and the result is at most MaxDirNameBytes bytes.
//   - When both the sanitized name and its Unicode slug are empty (a name of
//     punctuation only, or an empty name), cardano-tracer writes into the log
//     root itself, mixing the node's files with the node directories. Muninn
//     uses "unnamed-" plus the first 16 hex digits of the SHA-256 of the
//     NodeName instead.
//
// Everything else, including the upstream quirks (a '/' in a name keeps only
// the last piece, "pipe" and every '.' vanish from socket paths, an IPv6
// NodeId's directory loses its leading '[' but keeps the ']'), is kept.
//
// Strings are handled as Go strings; invalid UTF-8, which Haskell's Text
// cannot hold, is read as U+FFFD. Character classes follow Go's unicode
// tables, which may differ from GHC's for code points assigned in the most
// recent Unicode versions.
package naming
