package sqlfp

import (
	"strings"
	"testing"
)

// Statements of about 50, 200 and 2000 bytes, shaped like real traffic.
var (
	stmt50  = "SELECT id, name FROM users WHERE id = $1 LIMIT 10"
	stmt200 = "SELECT u.id, u.email, o.total, o.created_at FROM users u " +
		"JOIN orders o ON o.user_id = u.id WHERE u.status = 'active' " +
		"AND o.total > 100.50 AND o.region IN (1, 2, 3, 4) ORDER BY o.created_at DESC LIMIT 20"
	stmt2000 = func() string {
		var b strings.Builder
		b.WriteString("INSERT INTO events (id, user_id, kind, payload, created_at) VALUES ")
		for i := 0; b.Len() < 1950; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(42, 1001, 'click', '{\"x\": 1}', '2024-01-01')")
		}
		b.WriteString(" /* batch */ RETURNING id")
		return b.String()
	}()
)

func BenchmarkFingerprint(b *testing.B) {
	for _, bc := range []struct {
		name, q string
	}{
		{"50B", stmt50},
		{"200B", stmt200},
		{"2000B", stmt2000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.q)))
			for b.Loop() {
				Fingerprint(bc.q)
			}
		})
	}
}

func BenchmarkKind(b *testing.B) {
	for _, bc := range []struct {
		name, q string
	}{
		{"select", stmt50},
		{"comment", "/* app=api */ -- route\n  (SELECT 1)"},
		{"with", "WITH recent AS (SELECT * FROM orders WHERE created_at > now() - interval '1 day') DELETE FROM recent"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Kind(bc.q)
			}
		})
	}
}

func BenchmarkNormalize(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(stmt200)))
	for b.Loop() {
		Normalize(stmt200)
	}
}
