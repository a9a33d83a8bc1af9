# make run  — fresh machine to a running hub (SQLite under HUB_HOME, django-q2 ORM broker)
# make test — fresh machine to a green suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test lint setup bench screenshots clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || { echo "python3-venv is missing: apt-get install python3-venv"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e .
	touch $(STAMP)

# The test tools, plus the MariaDB driver (mysqlclient compiles against Debian's
# libmariadb-dev). Without those headers the MariaDB tests skip (and fail under CI=true).
$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	$(PY) -m pip install --quiet -c constraints.txt -e ".[mysql]" || \
	  echo "warning: mysqlclient did not build; apt-get install libmariadb-dev pkg-config for the MariaDB tests"
	touch $(TEST_STAMP)

setup: $(STAMP)
	$(PY) manage.py hub_setup

run: setup
	$(PY) manage.py serve

test: $(TEST_STAMP)
	$(VENV)/bin/ruff check .
	HUB_HOME=$(CURDIR)/.hub_home/test $(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	HUB_HOME=$(CURDIR)/.hub_home/test $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check .
	HUB_HOME=$(CURDIR)/.hub_home/test $(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# docs/screenshots/: a throwaway hub with demo data, photographed with Debian's chromium.
screenshots: $(TEST_STAMP)
	$(PY) tools/screenshots.py

clean:
	rm -rf $(VENV) .hub_home .pytest_cache .ruff_cache
