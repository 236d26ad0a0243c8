# smb3d — the two commands of the README are `make run` and `make test`.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/smb3d
export GOFLAGS ?= -mod=mod

.PHONY: all build run test test-quick test-unit test-gosmb2 test-smbclient test-kerberos test-torture test-rdma \
        deps vet fuzz fuzz-ci bench bench-rdma clean test-hostile

all: build

build:
	$(GO) build -o $(BIN) ./cmd/smb3d

# The embedded default: a share on .cache/demo/share, loopback only, a
# generated user; it prints the smbclient command that connects.
run: build
	./$(BIN) demo -dir .cache/demo -listen 127.0.0.1:4455

# Everything CI runs. Installs what the tests need first.
test: deps vet test-unit fuzz-ci test-gosmb2 test-smbclient test-kerberos test-hostile test-torture test-rdma
	@echo "make test: all stages passed"

# The inner loop: unit tests only, no packages installed.
test-quick: vet test-unit

deps:
	@test/deps.sh

vet:
	CGO_ENABLED=0 $(GO) vet ./...

test-unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /test/)

test-gosmb2: build
	$(GO) test -count=1 ./test/gosmb2/

test-smbclient: build
	test/smbclient/run.sh
	test/smbclient/encrypt.sh
	test/smbclient/list-shares.sh
	test/smbclient/acls.sh

# An MIT KDC of its own on loopback; smbclient logs on with Kerberos (~20 s).
test-kerberos: build
	test/kerberos/run.sh

test-hostile: build
	test/hostile/idle-conns.sh 1000

test-torture: build
	test/torture/run.sh --server smb3d

test-rdma:
	test/soft-roce/run-tests.sh
	test/soft-roce/smbdirect-test.sh
	test/numa/vm-test.sh

# Each fuzz target briefly (FUZZTIME per target). CI gives each target a count of executions, not
# a duration: Go 1.26's fuzz coordinator can fail a target with a bare "context deadline exceeded"
# when a -fuzztime duration ends (go.dev/issue/75804, fixed in 1.27); a count has no deadline.
FUZZTIME ?= 10s
fuzz-ci:
	$(MAKE) fuzz FUZZTIME=40000x
fuzz:
	@for pkg in $$($(GO) list ./smb3/...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; done

# smb3d vs Samba smbd side by side (root: tmpfs mounts, useradd; ~8 min).
# BENCHFLAGS=-q for a smoke run, -S/-E to sign/encrypt everything.
bench: build
	test/bench/run.sh $(BENCHFLAGS)

# smb3d and ksmbd over SMB-Direct and TCP in the soft-RoCE guest (TCG: compare ratios; ~12 min).
# BENCHRDMAFLAGS="-r 1 -s 16 -F 200" for a smoke run.
bench-rdma:
	test/soft-roce/bench-rdma.sh $(BENCHRDMAFLAGS)

clean:
	rm -rf bin .cache/demo
