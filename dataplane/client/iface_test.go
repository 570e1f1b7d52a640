package client_test

import (
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/client"
)

// The seam with the port's TX frame loop.
var _ dataplane.PayloadSource = (*client.Mapper)(nil)
