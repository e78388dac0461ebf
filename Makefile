# procgov: two commands on a fresh machine (Python 3.11+ and make):
#   make demo   # embedded engine + all workers + sample instances of every process, then a summary
#   make test   # lint, type checks and the whole test suite
PY ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
SYNCED := $(VENV)/.synced
NODE_TOOLS := tools/node_modules/.installed

.PHONY: setup demo test lint typecheck pytest bench engine fmt clean console-vendor

$(UV):
	$(PY) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(SYNCED): pyproject.toml packages/procgov-engine/pyproject.toml packages/procgov-workers/pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --python $(PY)
	touch $@

# Node tools (bpmnlint + camunda-compat, zbctl) are optional locally; CI requires them.
$(NODE_TOOLS): tools/package.json tools/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix tools --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: bpmnlint and zbctl tests will be skipped"; fi

setup: $(SYNCED)
	-@$(MAKE) --no-print-directory $(NODE_TOOLS)

demo: setup
	$(VENV)/bin/procgov demo

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

typecheck: setup
	$(VENV)/bin/mypy

pytest: setup
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: setup
	$(VENV)/bin/python -m bench

engine: setup
	$(VENV)/bin/procgov engine --data var/engine

fmt: setup
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

report-screenshots: setup  ## screenshots of the audit and SLA reports and the console's pages of a demo run in var/screenshots/
	$(VENV)/bin/python tools/report_screenshots.py

CONSOLE_VENDOR := procgov/console/static/vendor
console-vendor:  ## copy the pinned bpmn-js and form-js bundles from tools/node_modules into the console
	cp tools/node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js tools/node_modules/bpmn-js/dist/assets/bpmn-js.css \
	   tools/node_modules/bpmn-js/dist/assets/diagram-js.css tools/node_modules/bpmn-js/LICENSE $(CONSOLE_VENDOR)/bpmn-js/
	cp tools/node_modules/@bpmn-io/form-js/dist/form-viewer.umd.js tools/node_modules/@bpmn-io/form-js/dist/assets/form-js.css \
	   tools/node_modules/@bpmn-io/form-js/LICENSE $(CONSOLE_VENDOR)/form-js/

clean:
	rm -rf $(VENV) $(TOOLS) tools/node_modules var .pytest_cache .mypy_cache .ruff_cache
