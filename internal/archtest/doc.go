// Package archtest enforces docs/design.md's import table: its test reads
// the table from the document, lists every package of the module with `go
// list`, and fails for an import a package's row does not allow and for a
// package no row places. The document is the rule; there is no second copy
// of it here.
package archtest
