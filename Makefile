# The two commands of the quick start are `make demo` and `make test`; both set up what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_DIR ?= .demo

.PHONY: all demo test lint typecheck unit system-tools venv lock clean bench

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

lint: venv
	$(BIN)/ruff check monitor tests bench
	$(BIN)/ruff format --check monitor tests bench

typecheck: venv
	$(BIN)/mypy --strict monitor

unit: venv
	$(BIN)/pytest

test: venv system-tools lint typecheck unit

demo: venv
	$(BIN)/f5-linkerd-monitor demo --out $(DEMO_DIR)

# Polls a simulated BIG-IP pair at the design's scale; writes bench/results.md.
bench: venv
	$(BIN)/python -m bench

lock: venv
	{ echo "# Pinned versions for the venv that 'make' builds (pip install -c constraints.txt)."; \
	  echo "# Regenerate with: make lock"; $(BIN)/pip freeze --exclude-editable; } > constraints.txt

clean:
	rm -rf $(VENV) $(DEMO_DIR) .mypy_cache .ruff_cache .pytest_cache
