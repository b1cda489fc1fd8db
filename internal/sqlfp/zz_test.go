package sqlfp
import "testing"
func BenchmarkZZ(b *testing.B) {
	for _, q := range []string{
		"SELECT u.id, u.email, o.total, o.created_at FROM users u JOIN orders o ON o.user_id = u.id WHERE u.status = 'active' AND o.total > 100.50 AND o.region IN (1, 2, 3, 4) ORDER BY o.created_at DESC LIMIT 20",
		"SELECT u.id, u.email, o.total, o.created_at FROM users u JOIN orders o ON o.user_id = u.id WHERE u.status = ? AND o.total > ? AND o.region IN ? ORDER BY o.created_at DESC LIMIT ?",
		"SELECT uid, uemail, ototal, ocreated_at FROM users u JOIN orders o ON ouser_id = uid WHERE ustatus = ? AND ototal > ? AND oregion IN ? ORDER BY ocreated_at DESC LIMIT ?",
		"SELECT uid uemail ototal ocreated_at FROM users u JOIN orders o ON ouser_id uid WHERE ustatus AND ototal AND oregion IN ORDER BY ocreated_at DESC LIMIT",
	} {
		b.Run("", func(b *testing.B) { b.SetBytes(int64(len(q))); for b.Loop() { Fingerprint(q) } })
	}
}
