# tram — the two commands of the README's quick start, and their helpers.
GO ?= go

.PHONY: demo test build bench bench-report fmt

# demo runs the main job: for now the engine benchmark (tram against the
# PyTorch anchor scripts/torch_anchor.py when Debian's python3-torch is installed).
demo: build
	./bin/tram bench --json
	@if /usr/bin/python3 -c 'import torch' 2>/dev/null && [ -f scripts/torch_anchor.py ]; then \
		echo "PyTorch anchor (OPENBLAS_CORETYPE=$$(scripts/openblas_coretype.sh)):"; \
		OPENBLAS_CORETYPE=$$(scripts/openblas_coretype.sh) /usr/bin/python3 scripts/torch_anchor.py --methods sgd,adamw 2>/dev/null; \
	else echo "(PyTorch anchor skipped: needs python3-torch, i.e. apt-get install python3-torch)"; fi

# test runs the whole test suite: vet, then every package's tests.
test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

build:
	@mkdir -p bin
	$(GO) build -buildvcs=auto -o bin/tram ./cmd/tram

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/gemm ./tensor/...

# bench-report runs PyTorch's anchor (scripts/torch_anchor.py) and tram back
# to back and writes raw JSON, the environment and a ratio table to
# docs/bench/latest.
bench-report:
	scripts/bench_report.sh docs/bench/latest 5

fmt:
	gofmt -l -w .
