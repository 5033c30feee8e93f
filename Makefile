# tram — the commands of the README's quick start, and their helpers.
GO ?= go

.PHONY: demo test build bench bench-report fmt

# demo runs the main job on a fresh clone, with nothing downloaded: it renders
# GoDigits (digits from the Go fonts, six styles; tram data demo), fine-tunes
# the committed pretrained vision model on one style with SGD, SAM, TRAM-θ0
# and TRAM-x (3 seeds each, paired), evaluates every run on every style and
# writes a report to results/demo (report.md, report.html).
DEMO_DATA ?= .cache/demo
DEMO_OUT ?= results/demo
demo: build
	./bin/tram data demo --out $(DEMO_DATA)
	./bin/tram reproduce vision --data $(DEMO_DATA) --train-domain go-noisy --methods sgd,sam,tram-theta0,tram-x \
		--seeds 3 --set steps=60 --set eval-every=20 --allow-dirty --out $(DEMO_OUT)
	@echo "report: $(DEMO_OUT)/report.md ($(DEMO_OUT)/report.html for a browser)"

# test runs the whole test suite: vet, then every package's tests.
test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

build:
	@mkdir -p bin
	$(GO) build -buildvcs=auto -o bin/tram ./cmd/tram

# bench runs tram's engine benchmark against PyTorch's anchor
# (scripts/torch_anchor.py) when Debian's python3-torch is installed, then
# the Go micro-benchmarks of the kernels.
bench: build
	./bin/tram bench --json
	@if /usr/bin/python3 -c 'import torch' 2>/dev/null && [ -f scripts/torch_anchor.py ]; then \
		echo "PyTorch anchor (OPENBLAS_CORETYPE=$$(scripts/openblas_coretype.sh)):"; \
		OPENBLAS_CORETYPE=$$(scripts/openblas_coretype.sh) /usr/bin/python3 scripts/torch_anchor.py --methods sgd,adamw 2>/dev/null; \
	else echo "(PyTorch anchor skipped: needs python3-torch, i.e. apt-get install python3-torch)"; fi
	$(GO) test -run '^$$' -bench . -benchmem ./internal/gemm ./tensor/...

# bench-report runs PyTorch's anchor (scripts/torch_anchor.py) and tram back
# to back and writes raw JSON, the environment and a ratio table to
# docs/bench/latest.
bench-report:
	scripts/bench_report.sh docs/bench/latest 5

fmt:
	gofmt -l -w .
