module github.com/otkd/otkd

go 1.26.0

require (
	filippo.io/bigmod v0.1.0
	github.com/BurntSushi/toml v1.6.0
	github.com/cilium/ebpf v0.22.0
	github.com/emmansun/gmsm v0.44.1
	github.com/klauspost/cpuid/v2 v2.4.2
	github.com/klauspost/reedsolomon v1.14.2
	go.etcd.io/bbolt v1.5.0
	golang.org/x/crypto v0.54.0
	golang.org/x/sys v0.49.0
)

require (
	github.com/coreos/go-systemd/v22 v22.7.0
	github.com/pquerna/otp v1.5.0
)

require github.com/boombuler/barcode v1.0.1-0.20190219062509-6c824513bacc // indirect
