# Yunke. Run `make` to list the targets; each is documented by its `## ` comment.

.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
MAKEFLAGS += --no-print-directory

GO           ?= go
BIN          := bin/yunke
VERSION      ?= 0.1.0
COMMIT       := $(shell git rev-parse --short=12 HEAD 2>/dev/null)
GO_LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
TEST_TIMEOUT ?= 15m
# Every Go package of the module; npm packages that ship .go files are not ours.
GO_PKGS       = $(shell $(GO) list ./... | grep -v /node_modules/)

# The front end is rebuilt only when a file it is built from is newer than its output.
WEB_SRC     := $(shell find web \( -name node_modules -o -name dist -o -name e2e -o -name test-results \
                 -o -name playwright-report \) -prune -o -type f ! -name '*.go' -print 2>/dev/null)
WEB_INDEX   := web/dist/index.html
WEB_MODULES := web/node_modules/.package-lock.json

.PHONY: help build web run test test-go test-browser check bench fuzz fmt clean deps

help: ## list the targets (the default)
	@echo "Yunke — make targets:"
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z_-]+:.*## / { printf "  %-13s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

build: web ## build bin/yunke, with the front end embedded
	$(GO) build -ldflags '$(GO_LDFLAGS)' -o $(BIN) ./server/cmd/yunke

web: $(WEB_INDEX) ## build the front end into web/dist when its sources changed

$(WEB_MODULES): $(wildcard web/package.json web/package-lock.json)
	@if [ -f web/package-lock.json ]; then cd web && npm ci --no-audit --no-fund; \
	elif [ -f web/package.json ]; then cd web && npm install --no-audit --no-fund; fi
	@mkdir -p web/node_modules && touch $@

$(WEB_INDEX): $(WEB_SRC) $(WEB_MODULES)
	@if [ -f web/package.json ]; then cd web && npm run build; \
	else echo "web: no web/package.json yet, nothing to build"; fi

run: build ## build, then run a dev server on http://127.0.0.1:7880/
	$(BIN) serve --dev

test: deps ## run every test: install what is missing, go vet, Go tests, browser tests
	$(MAKE) test-go
	$(MAKE) test-browser

test-go: ## go vet and the Go tests
	$(GO) vet $(GO_PKGS)
	$(GO) test -timeout $(TEST_TIMEOUT) $(GO_PKGS)

test-browser: deps build ## end-to-end tests in headless Chromium against bin/yunke
	@if [ ! -f web/package.json ] || ! grep -q '"e2e"' web/package.json; then \
	  echo "test-browser: web/package.json has no e2e script yet, nothing to run"; \
	else cd web && YUNKE_BIN=$(CURDIR)/$(BIN) CHROMIUM_PATH="$$(command -v chromium || true)" npm run e2e; fi

check: ## go vet, Go tests with -race, every benchmark once
	$(GO) vet $(GO_PKGS)
	$(GO) test -race -timeout $(TEST_TIMEOUT) $(GO_PKGS)
	$(GO) test -run '^$$' -bench . -benchtime=1x $(GO_PKGS)

bench: ## Go benchmarks with allocations (the statistics at seed scale too: docs/benchmarks.md), the fan-out benchmark (plain, then 100 subscribers recorded), then a 300-student class
	YUNKE_BENCH_REPORTS=1 $(GO) test -run '^$$' -bench . -benchmem -timeout 60m $(GO_PKGS)
	@if test -f deploy/bench/fanout.sh; then \
	  $(MAKE) build && YUNKE_BIN=$(CURDIR)/$(BIN) bash deploy/bench/fanout.sh && \
	  RECORD=1 YUNKE_BIN=$(CURDIR)/$(BIN) bash deploy/bench/fanout.sh 100; fi
	@if test -f deploy/bench/class.sh; then \
	  $(MAKE) build && YUNKE_BIN=$(CURDIR)/$(BIN) bash deploy/bench/class.sh 300; fi

FUZZTIME ?= 30s
fuzz: ## run every fuzz test for FUZZTIME (default 30s) each
	@for pkg in $(GO_PKGS); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

fmt: ## gofmt every Go package
	$(GO) fmt $(GO_PKGS)

clean: ## remove build output (bin/, web/dist/, test results); keeps node_modules
	rm -rf bin web/test-results web/playwright-report
	find web/dist -mindepth 1 -maxdepth 1 ! -name .keep -exec rm -rf {} +

deps: ## install and start what the tests need and is missing (Debian: chromium, a CJK font, ffmpeg, node/npm, web modules, PostgreSQL, Redis)
	@bash deploy/dev/ensure-deps.sh
