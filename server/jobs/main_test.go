package jobs_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests: a stopped
// queue leaves nothing running (the server's own tests rely on it).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
