package cluster_test

import (
	"testing"

	"github.com/otkd/otkd/internal/testmain"
)

func TestMain(m *testing.M) { testmain.Main(m) }
