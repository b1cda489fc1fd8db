package sqlfp

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sqltel/sqltel/telemetry"
)

func TestKind(t *testing.T) {
	tests := []struct {
		query string
		want  telemetry.Kind
	}{
		{"", telemetry.KindOther},
		{"   \n\t", telemetry.KindOther},
		{"-- only a comment", telemetry.KindOther},
		{"/* unterminated", telemetry.KindOther},
		{"SELECT 1", telemetry.KindSelect},
		{"select 1", telemetry.KindSelect},
		{"SeLeCt 1", telemetry.KindSelect},
		{"  \n\tSELECT 1", telemetry.KindSelect},
		{"-- comment\nSELECT 1", telemetry.KindSelect},
		{"/* a */ /* b */ select 1", telemetry.KindSelect},
		{"/*+ hint */select 1", telemetry.KindSelect},
		{"((SELECT 1)) UNION (SELECT 2)", telemetry.KindSelect},
		{"( /* x */ select 1)", telemetry.KindSelect},
		{"VALUES (1), (2)", telemetry.KindSelect},
		{"TABLE users", telemetry.KindSelect},
		{"WITH t AS (SELECT 1) SELECT * FROM t", telemetry.KindSelect},
		{"WITH RECURSIVE t(n) AS (VALUES (1) UNION ALL SELECT n+1 FROM t) SELECT n FROM t", telemetry.KindSelect},
		{"WITH a AS (SELECT 1), b AS (SELECT 2) INSERT INTO x SELECT * FROM a", telemetry.KindInsert},
		{"with d as (delete from t returning *) insert into u select * from d", telemetry.KindInsert},
		{"WITH t AS MATERIALIZED (SELECT 1) UPDATE x SET y = 1", telemetry.KindUpdate},
		{"WITH t AS (SELECT ')') DELETE FROM x", telemetry.KindDelete},
		{"WITH t AS (SELECT 1)", telemetry.KindOther},
		{"WITH t AS (SELECT 1) MERGE INTO x USING t ON true WHEN MATCHED THEN DELETE", telemetry.KindOther},
		{"INSERT INTO t VALUES (1)", telemetry.KindInsert},
		{"insert into t values (1)", telemetry.KindInsert},
		{"REPLACE INTO t VALUES (1)", telemetry.KindInsert},
		{"UPDATE t SET a = 1", telemetry.KindUpdate},
		{"DELETE FROM t", telemetry.KindDelete},
		{"CREATE TABLE t (a int)", telemetry.KindDDL},
		{"ALTER TABLE t ADD b int", telemetry.KindDDL},
		{"DROP TABLE t", telemetry.KindDDL},
		{"TRUNCATE t", telemetry.KindDDL},
		{"RENAME TABLE a TO b", telemetry.KindDDL},
		{"COMMENT ON TABLE t IS 'x'", telemetry.KindDDL},
		{"BEGIN", telemetry.KindBegin},
		{"begin transaction", telemetry.KindBegin},
		{"BEGIN IMMEDIATE", telemetry.KindBegin},
		{"START TRANSACTION", telemetry.KindBegin},
		{"start /* c */ transaction read only", telemetry.KindBegin},
		{"START", telemetry.KindOther},
		{"START SLAVE", telemetry.KindOther},
		{"SHOW TABLES", telemetry.KindOther},
		{"EXPLAIN SELECT 1", telemetry.KindOther},
		{"DESCRIBE t", telemetry.KindOther},
		{"SET search_path = x", telemetry.KindOther},
		{"COMMIT", telemetry.KindOther},
		{"GRANT SELECT ON t TO u", telemetry.KindOther},
		{"MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE", telemetry.KindOther},
		{"SELECTX 1", telemetry.KindOther},
		{"SELEC", telemetry.KindOther},
		{"'SELECT'", telemetry.KindOther},
		{"\"select\"", telemetry.KindOther},
		{"?", telemetry.KindOther},
		{"1", telemetry.KindOther},
		{";SELECT 1", telemetry.KindOther},
		{"\xff\xfeSELECT", telemetry.KindOther},
		{"ſelect 1", telemetry.KindOther}, // U+017F folds to 's' in Unicode, not in SQL
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, Kind(tt.query)); diff != "" {
			t.Errorf("Kind(%q) mismatch (-want +got):\n%s", tt.query, diff)
		}
	}
}

func TestKindDoesNotAllocate(t *testing.T) {
	for _, q := range []string{stmt50, stmt200, "WITH t AS (SELECT 1) DELETE FROM t", "start transaction"} {
		if n := testing.AllocsPerRun(100, func() { Kind(q) }); n != 0 {
			t.Errorf("Kind(%q) allocates %v times", q, n)
		}
	}
}
