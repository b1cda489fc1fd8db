package main

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/sqltel/sqltel/examples/internal/workload/workloadtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestMySQL runs the example against SQLTEL_TEST_MYSQL_DSN. When the
// variable is set the server must be reachable: the test fails otherwise.
func TestMySQL(t *testing.T) { workloadtest.Server(t, example, "SQLTEL_TEST_MYSQL_DSN") }
