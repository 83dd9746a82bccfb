GO ?= go
BENCH_ROWS ?= 100000

.PHONY: all build demo test race vet bench fuzz golden reference report-html clean

all: vet test

build:
	$(GO) build -o bin/scimigrate ./cmd/scimigrate

# The main job on the embedded sample data.
demo:
	$(GO) run ./cmd/scimigrate demo

# The whole test suite (what .ci/run runs).
test:
	$(GO) test ./...

# The suite under the race detector (several minutes on 2 cores).
race:
	$(GO) test -race ./...

vet:
	gofmt -l . | (! grep .) && $(GO) vet ./...

# Speed and memory: rows/s and allocations per row on a generated 305 file.
bench:
	BENCH_ROWS=$(BENCH_ROWS) $(GO) test -run '^$$' -bench . -benchtime 3x ./converter/
	$(GO) test -run '^$$' -bench . -benchmem ./scim/schema/ ./batcher/
	$(GO) test -run '^$$' -bench 'PlanStream|SnapshotIndex|Export' -benchtime 3x ./batcher/plan/

# Short runs of every fuzz target (go test runs their seed corpora always).
# A run that ends with nothing but "context deadline exceeded" and writes no
# failing input is the Go fuzzing coordinator's race at the end of -fuzztime
# on a loaded machine (golang/go#75804), not a finding: it is reported and
# the next target runs. Any written input, panic or test failure stops.
fuzz:
	@out=$$(mktemp); trap 'rm -f $$out' EXIT; \
	for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; \
	    if ! $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s -fuzzminimizetime 10s $$pkg > $$out 2>&1; then \
	      cat $$out; \
	      if grep -q 'context deadline exceeded' $$out && ! grep -qE 'Failing input written|panic:|_test.go:[0-9]+:' $$out; then \
	        echo "== $$f: the coordinator's deadline race at the end of -fuzztime, no failing input (golang/go#75804)"; \
	      else exit 1; fi; \
	    else tail -3 $$out; fi; \
	  done; \
	done

# Regenerate golden files and the generated mapping reference after a reviewed change.
# Every package whose tests declare -update is listed, so none is forgotten.
GOLDEN_PKGS = $(shell grep -rl --include='*_test.go' 'flag.Bool."update"' . | xargs -n1 dirname | sort -u)
golden:
	$(GO) test $(GOLDEN_PKGS) -update

# The sign-off documents, rendered for a look: plan.html of the plan fixtures
# (creates, updates, a rejection), the outcome report of a generated file
# applied to the simulator with 429s, 5xx and dropped connections, a plan
# made against the live simulator and the outcome of applying it (changes by
# attribute), and the report of a run stopped by a fatal error. The tests that render them check
# their figures; open the files in a browser (they hold sample data only).
REPORT_HTML_DIR ?= $(CURDIR)/bin/report-html
report-html:
	$(GO) test ./cmd/scimigrate/ -count=1 -run '^(TestPlanHTML|TestOutcomeHTML|TestOutcomeHTMLChanges|TestApplyReportsAfterFatalError)$$' -html-out $(REPORT_HTML_DIR)
	@for f in plan.html plan-live.html report.html report-changes.html report-stopped.html; do echo "file://$(REPORT_HTML_DIR)/$$f"; done

clean:
	rm -rf bin
