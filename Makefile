# Two commands: `make run` and `make test`. Both set everything up on a fresh machine.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test bench setup browser messages lint clean

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 is required"; exit 1; }
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# System packages from Debian: chromium for browser tests (never a downloaded browser),
# gettext for the catalogues, pango for WeasyPrint.
browser:
	@{ test -x /usr/bin/chromium && command -v msgfmt >/dev/null && test -n "$$(ls /usr/lib/*/libpango-1.0.so.0 2>/dev/null)"; } || { \
	  echo "Installing chromium, gettext and pango from Debian"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    chromium gettext libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null; }

setup: $(STAMP) browser
	$(BIN)/python manage.py compilemessages -v0 --ignore=.venv
	$(BIN)/python manage.py migrate --noinput -v0

messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l es -l en --ignore=.venv --ignore=staticfiles --no-obsolete
	$(BIN)/python manage.py compilemessages -v0 --ignore=.venv

run: setup
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_demo --if-empty
	@echo "Demo logins (password: demo-asamblea): ana (facilitator), beto (worker), carla (another cooperative), rita (federation reviewer)"
	DEBUG=$${DEBUG:-1} $(BIN)/uvicorn config.asgi:application --host $(HOST) --port $(PORT) --ws-per-message-deflate false --ws-max-size 65536 --no-access-log

test: setup
	$(BIN)/pytest

bench: setup
	$(BIN)/python -m bench.live_fanout
	$(BIN)/python -m bench.vote_storm
	$(BIN)/python -m bench.reconnect_storm
	$(BIN)/python -m bench.minutes_pdf
	$(BIN)/python -m bench.rotation
	$(BIN)/python -m bench.production

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy .

clean:
	rm -rf $(VENV) db.sqlite3* staticfiles
