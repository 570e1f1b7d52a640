package etcdstore_test

import (
	"testing"

	"github.com/otkd/otkd/ctrl/cluster/etcdtest"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore/etcdstore"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore/kstoretest"
)

// TestContract runs the kstore suite on a 3-member etcd cluster on
// loopback, over TLS with client-certificate authentication.
func TestContract(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{TLS: true})
	cli := c.Client(t)
	kstoretest.Run(t, kstoretest.Backend{
		Open: func(t *testing.T, name string, ms []kstore.Migration) (kstore.Store, error) {
			st, err := etcdstore.Open(cli, ms, etcdstore.Options{Prefix: "/test/" + name + "/"})
			if err != nil {
				return nil, err
			}
			return st, nil
		},
		MaxOps: 128,
		Shared: true,
	})
}
