# Ritme developer commands. See README.md.
#
#   make run     create .venv, install, migrate the database, serve on 127.0.0.1:3978
#   make test    install test tools (and, as root, PostgreSQL and chromium), lint, run pytest
#   make bench   run the benchmarks
#   make lint    ruff check, ruff format --check and mypy (the same checks as .pre-commit-config.yaml)
#   make clean   remove .venv and caches
#
# Extra pytest arguments: make test PYTEST_ARGS='tests/storage -x'

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test bench lint clean system-deps

# `ritme serve` migrates the database itself, and says so in one line.
run: $(VENV)/.installed
	@$(BIN)/ritme serve

test: lint system-deps
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(VENV)/.installed-test system-deps
	$(BIN)/python -m bench

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build *.egg-info tests/artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# The virtual environment, made with Python 3.11 only.
$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		{ echo "error: $(PYTHON) is not Python 3.11 (set PYTHON=/path/to/python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstall only when pyproject.toml is newer than the stamp file.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -e '.[test]'
	touch $@

# System packages the tests need: a PostgreSQL server (the tests start their own
# throwaway cluster) and Debian's chromium (driven by Playwright; never downloaded).
# Installed only when missing, and only when running as root.
system-deps:
	@missing=""; \
	if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		missing="$$missing postgresql"; \
	fi; \
	if [ ! -x /usr/bin/chromium ]; then missing="$$missing chromium"; fi; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" -ne 0 ]; then \
		echo "warning: missing system packages:$$missing (not root, so not installing; tests needing them will fail)"; \
		exit 0; \
	fi; \
	echo "apt-get install$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq $$missing
