package channel

import (
	"testing"

	"github.com/carhop/carhop/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }
