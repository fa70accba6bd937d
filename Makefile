# Two commands for a fresh machine with Python 3.11, git and make:
#   make demo   - the example site on http://127.0.0.1:8000 (local engine, no API key, no network)
#   make test   - the whole suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test test-sqlite test-postgres test-wagtail74 lint format bench clean services soak-small soak

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# One stamp per extra set, redone when pyproject.toml changes.
$(VENV)/.dev-installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

$(VENV)/.demo-installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[demo]"
	touch $@

demo: $(VENV)/.demo-installed
	cd example_project && ../$(PY) manage.py migrate --noinput
	cd example_project && ../$(PY) manage.py demo_setup
	cd example_project && ../$(PY) manage.py runserver 127.0.0.1:8000 --noreload

services:
	@scripts/ensure-services.sh
	@scripts/ensure-browser.sh

# The whole suite: lint, then every test on SQLite, then the database-facing tests on PostgreSQL,
# then every test again on Wagtail 7.4 LTS (the oldest supported release) in a second virtualenv.
test: $(VENV)/.dev-installed services lint test-sqlite test-postgres test-wagtail74 soak-small

test-sqlite: $(VENV)/.dev-installed
	$(BIN)/pytest -q -p no:cacheprovider

test-postgres: $(VENV)/.dev-installed
	BGCUT_TEST_DB=postgres $(BIN)/pytest -q -p no:cacheprovider -m postgres

VENV74 := .venv-wagtail74

$(VENV74)/.dev-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV74)
	$(VENV74)/bin/python -m pip install --quiet --upgrade pip
	$(VENV74)/bin/python -m pip install --quiet -e ".[dev]" "wagtail>=7.4,<7.5" "Django>=5.2,<5.3"
	touch $@

test-wagtail74: $(VENV74)/.dev-installed
	$(VENV74)/bin/pytest -q -p no:cacheprovider

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.dev-installed
	$(PY) benchmarks/engine_quality.py
	$(PY) benchmarks/engine_speed.py
	$(PY) benchmarks/render.py

# Workers and recovery: the soak (benchmarks/soak.py) with three real workers, faults and a killed
# worker; the small one fails `make test` when a cut-out is left undone or paid twice.
soak-small: $(VENV)/.dev-installed
	$(PY) benchmarks/soak.py --small

soak: $(VENV)/.dev-installed
	$(PY) benchmarks/soak.py

clean:
	rm -rf $(VENV) $(VENV74) build *.egg-info example_project/db.sqlite3 example_project/media
