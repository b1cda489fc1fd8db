package collector_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/sqltel/sqltel/examples/collector/collector"
)

// Start the collector in-process on an in-memory SQLite database and ask it
// for a host's flags, as a sqltel client would.
func Example() {
	db, dialect, err := collector.Open(":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	srv, err := collector.New(collector.Config{DB: db, Dialect: dialect, Enable: []string{"localhost"}})
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	res, err := http.Get(ts.URL + "/v1/flags?host=localhost&client=sqltel-go&version=0.1.0")
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	fmt.Print(string(body))
	// Output: {"flags":{"telemetry_enabled":true},"ttl_seconds":900}
}
