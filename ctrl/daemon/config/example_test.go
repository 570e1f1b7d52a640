package config_test

import (
	"errors"
	"fmt"

	"github.com/otkd/otkd/ctrl/daemon/config"
)

// A bad file: every mistake is named with the field, the value and the
// reason, and no Config comes back.
func ExampleParse() {
	file := `
[node]
name = "a"
private_key = "/etc/otkd/node.key"

[[port]]
name = "east"
id = 1
role = "C"
local = "127.0.0.1:7400"
peer = "127.0.0.1:7400"
peer_name = "b"
peer_public_key = "/etc/otkd/b.pub"

[log]
level = "verbose"
`
	c, err := config.Parse([]byte(file), "otkd.toml")
	fmt.Println(c == nil, errors.Is(err, config.ErrInvalid))
	fmt.Println(err)
	// Output:
	// true true
	// config: otkd.toml: port[0].role = "C": want "A" or "B" (the peer's port has the other one)
	// config: otkd.toml: port[0].peer = "127.0.0.1:7400": equals port[0].local
	// config: otkd.toml: log.level = "verbose": want "debug", "info", "warn" or "error"
}

// Reloading: only the log and metrics settings change in a running daemon.
func ExampleConfig_ReloadableDiff() {
	running, err := config.Load("../../../examples/otkd-a.toml")
	if err != nil {
		panic(err)
	}
	next := running.Clone()
	next.Log.Level = "debug"
	fmt.Println(running.ReloadableDiff(next))

	next.Ports[0].FrameRate = 20000
	_, err = running.ReloadableDiff(next)
	fmt.Println(errors.Is(err, config.ErrNotReloadable), err)
	// Output:
	// [log.level] <nil>
	// true config: port[0].frame_rate = 20000: changed from 2000; not reloadable, restart otkd to apply it
}
