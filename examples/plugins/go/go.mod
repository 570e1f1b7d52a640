module example.com/otkd-plugin

go 1.26.0

require github.com/otkd/otkd v0.0.0

require (
	github.com/emmansun/gmsm v0.44.1 // indirect
	golang.org/x/sys v0.49.0 // indirect
)

// The plugin builds against the otkd source tree it sits in. Elsewhere,
// point the replace at your checkout of otkd (or vendor it: go mod vendor).
replace github.com/otkd/otkd => ../../..
