package keysync_test

import (
	"crypto/rand"
	"fmt"

	"github.com/emmansun/gmsm/sm2"

	"github.com/otkd/otkd/ctrl/keymgmt/keysync"
)

// A vendor builds a key file for a node; the node reads it back.
func ExampleBuildKeyFile() {
	node, _ := sm2.GenerateKey(rand.Reader)
	file, err := keysync.BuildKeyFile(rand.Reader, &node.PublicKey, []keysync.Record{
		{ID: "vendor:0001", Key: make([]byte, 16)},
		{ID: "vendor:0002", Key: make([]byte, 32)},
	})
	if err != nil {
		panic(err)
	}
	env, err := keysync.ParseKeyFile(file)
	if err != nil {
		panic(err)
	}
	recs, err := env.Open(node)
	if err != nil {
		panic(err)
	}
	for _, r := range recs {
		fmt.Println(r.ID, len(r.Key))
	}
	// Output:
	// vendor:0001 16
	// vendor:0002 32
}
