package driver

import (
	"net"
	"net/url"
	"strings"
)

// hostKey derives the host key that identifies a database server in
// telemetry (and that feature flags are looked up by) from a DSN that
// parseDSN has already stripped. It never resolves names and never fails:
// what it cannot read is "localhost".
//
// Where the host comes from:
//
//   - URLs: the first host of the authority (libpq's host list
//     h1:5432,h2:5433 gives h1:5432), or the host/port query parameters,
//     which override it as in libpq;
//   - keyword/value: host= (the first of a list, hostaddr= when there is no
//     host=) and port= (the first of a list);
//   - go-sql-driver/mysql: tcp(host:port) or the address of any other
//     network; user@/db and tcp without an address are localhost:3306;
//   - anything without a network host (unix sockets, SQLite files and
//     URIs, :memory:) is "localhost".
//
// Normalisation: the result is lower-cased ASCII, host:port with IPv6
// addresses in brackets ([::1]:5432). A missing port is made explicit with
// the default of the database: 5432 for postgres:// and postgresql:// URLs
// and keyword/value DSNs, 3306 for mysql:// and mariadb:// URLs and MySQL
// DSNs, 1433 for sqlserver://, 9000 for clickhouse://, 26257 for
// cockroachdb://, so "h" and "h:5432" give the same key; a URL with another
// scheme keeps just the host when it has no port. Unix sockets (a host that
// is a path, or MySQL's unix(...)) are "localhost" without a port: the
// socket is always on the local machine and its path is not a name the
// telemetry service knows. Host names and addresses are kept as written,
// so localhost, 127.0.0.1 and [::1] are three different keys.
func hostKey(dsn string) string {
	switch {
	case isURL(dsn):
		return urlHostKey(dsn)
	case isKeywordValue(dsn):
		return keywordValueHostKey(dsn)
	default:
		return mysqlHostKey(dsn)
	}
}

// localHost is the key of every server without a network address.
const localHost = "localhost"

// defaultPorts maps URL schemes to their database's default port.
var defaultPorts = map[string]string{
	"postgres":    "5432",
	"postgresql":  "5432",
	"mysql":       "3306",
	"mariadb":     "3306",
	"sqlserver":   "1433",
	"mssql":       "1433",
	"clickhouse":  "9000",
	"cockroachdb": "26257",
}

func urlHostKey(dsn string) string {
	scheme := strings.ToLower(dsn[:strings.Index(dsn, "://")])
	rest := dsn[urlHostStart(dsn):]
	authority, query := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority = rest[:i]
		if q := strings.IndexByte(rest, '?'); q >= 0 {
			query = rest[q+1:]
		}
	}
	// net/url (lib/pq, go-mssqldb) ends the user information at the LAST
	// '@' of the authority, so a password may hold '@': cutting there too
	// keeps any of it out of the key, which is sent to the collector.
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	// The first host of a libpq host list; a comma never appears in a host.
	first, _, _ := strings.Cut(authority, ",")
	host, port := splitHostPort(first)
	for seg := range strings.SplitSeq(query, "&") {
		k, v, _ := strings.Cut(seg, "=")
		switch k {
		case "host":
			host, _, _ = strings.Cut(v, ",")
		case "port":
			port, _, _ = strings.Cut(v, ",")
		}
	}
	host = unescape(host)
	port = unescape(port)
	if scheme == "file" || strings.HasPrefix(host, "/") {
		return localHost
	}
	if host == "" {
		host = localHost
	}
	return joinHostPort(host, port, defaultPorts[scheme])
}

func keywordValueHostKey(dsn string) string {
	var host, hostaddr, port string
	for _, t := range scanKeywordValue(dsn) {
		switch t.key {
		case "host":
			host = t.val
		case "hostaddr":
			hostaddr = t.val
		case "port":
			port = t.val
		}
	}
	if host == "" {
		host = hostaddr
	}
	host, _, _ = strings.Cut(host, ",")
	port, _, _ = strings.Cut(port, ",")
	host = strings.TrimSpace(host)
	port = strings.TrimSpace(port)
	if strings.HasPrefix(host, "/") || strings.HasPrefix(host, "@") {
		return localHost // a socket directory, or an abstract socket
	}
	if host == "" {
		host = localHost
	}
	return joinHostPort(host, port, "5432")
}

// mysqlHostKey reads [user[:password]@][net[(addr)]]/dbname the way
// go-sql-driver/mysql's ParseDSN does (last '/', then last '@' before it).
// A DSN that does not look like that is a file name: "localhost".
func mysqlHostKey(dsn string) string {
	slash := strings.LastIndexByte(dsn, '/')
	if slash < 0 {
		return localHost
	}
	left := dsn[:slash]
	at := strings.LastIndexByte(left, '@')
	netAddr := left[at+1:]
	network, addr, hasAddr := netAddr, "", false
	if open := strings.IndexByte(netAddr, '('); open >= 0 && strings.HasSuffix(netAddr, ")") {
		network, addr, hasAddr = netAddr[:open], netAddr[open+1:len(netAddr)-1], true
	}
	if at < 0 && !hasAddr {
		return localHost // a path like data/app.db, not user@.../db
	}
	switch strings.ToLower(network) {
	case "", "tcp", "tcp4", "tcp6":
		if addr == "" {
			addr = localHost
		}
		host, port := splitHostPort(addr)
		return joinHostPort(host, port, "3306")
	case "unix":
		return localHost
	default:
		if !hasAddr {
			return localHost // not a network name go-sql-driver/mysql knows
		}
		// A registered custom network (cloudsql...): its address is the
		// best name there is.
		return strings.ToLower(addr)
	}
}

// splitHostPort splits host[:port] or [ipv6][:port]; a bare IPv6 address
// (more than one ':') has no port.
func splitHostPort(s string) (host, port string) {
	if strings.HasPrefix(s, "[") {
		if end := strings.IndexByte(s, ']'); end >= 0 {
			host, rest := s[1:end], s[end+1:]
			return host, strings.TrimPrefix(rest, ":")
		}
		return s, ""
	}
	if strings.Count(s, ":") > 1 {
		return s, ""
	}
	host, port, _ = strings.Cut(s, ":")
	return host, port
}

// joinHostPort lower-cases and joins host and port, with defPort when port
// is empty; with neither it is the host alone.
func joinHostPort(host, port, defPort string) string {
	host = strings.ToLower(host)
	if port == "" {
		port = defPort
	}
	if port == "" {
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, strings.ToLower(port))
}

// unescape percent-decodes s, or returns it as it is if it is not valid.
func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
