# provider-microcloud. The two set-up commands of README.md are `make run` and `make test`;
# everything else here is what they are made of.
SHELL := /bin/bash
GO ?= go
# go-ceph must be built for Ceph 16 (Pacific), the Ceph of Debian 12.
export GOFLAGS := -tags=pacific
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
LDFLAGS := -X github.com/microcloud-dev/provider-microcloud/internal/version.Version=$(VERSION)

.PHONY: all build generate check-generate lint test unit run bench fuzz package clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ ./cmd/...

generate:
	$(GO) generate ./apis/...

# Fails when generated code or CRDs are stale or hand-edited, or generation adds files that are not
# committed (cluster/test.sh runs it).
check-generate: generate
	@if ! git diff --quiet -- apis package || [ -n "$$(git status --porcelain -- apis package)" ]; then \
	  git status --porcelain -- apis package; \
	  git --no-pager diff --stat -- apis package; \
	  echo "generated files differ from the committed ones: run 'make generate' and commit" >&2; \
	  exit 1; \
	fi

# golangci-lint is pinned as a Go tool in its own module (cluster/tools/golangci-lint/go.mod), so its
# dependencies stay out of go.mod; `go tool` builds it once into the Go build cache.
GOLANGCI_LINT ?= $(GO) tool -modfile=cluster/tools/golangci-lint/go.mod golangci-lint

# gofmt (tracked files; the tool modules have none), go vet, then golangci-lint with .golangci.yml
# (cluster/test.sh runs it).
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^cluster/tools/')) || true; \
	  test -z "$$out" || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	$(GO) vet ./...
	$(GOLANGCI_LINT) run --allow-parallel-runners ./...

# Unit tests only (no real parts started; integration tests skip).
unit:
	$(GO) test -count=1 ./...

# All tests, against the real parts (API server, Ceph, Fabric, the PVE simulator), started and
# stopped by the script; installs what is missing.
test:
	bash cluster/test.sh

# The main job: local control plane + CRDs + provider (embedded PVE simulator, local Ceph),
# reconciling the examples until Ctrl-C.
run:
	bash cluster/run.sh

bench:
	bash cluster/bench.sh

# Every fuzz target for FUZZTIME each (default 10s; make test runs them for 5s).
fuzz:
	bash cluster/fuzz.sh

# An installable Crossplane package (xpkg) with an embedded runtime image, built offline
# without Docker (docs/package.md).
package:
	bash cluster/package.sh

clean:
	rm -rf bin _output
