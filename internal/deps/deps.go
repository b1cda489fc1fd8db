//go:build tools

// Package deps pins the test-only dependencies so go mod tidy keeps them.
package deps

import (
	_ "github.com/DATA-DOG/go-sqlmock"
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/jmoiron/sqlx"
	_ "go.uber.org/goleak"
	_ "golang.org/x/sync/singleflight"
	_ "modernc.org/sqlite"
)
