package bench

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	ServeCollectorIfChild()
	os.Exit(m.Run())
}
