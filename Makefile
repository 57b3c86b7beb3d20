# The README's commands. `make test` and `make lab` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
LAB_DIR := reviews/lab
# Voila's lab template without its CDN links (src/deliberation/workbook/voila)
VOILA_PATH := $(CURDIR)/src/deliberation/workbook/voila
# JupyterLab saves the widgets' state with the notebook: a reopened workbook shows the
# review before any cell runs (read-only until it does; src/deliberation/workbook/connection.py)
LAB_OVERRIDES := src/deliberation/workbook/lab/overrides.json

.PHONY: install lab present test lint unit browser chromium ssh-keygen postgresql meeting demo bench schema clean

install: $(STAMP)

# Pinned install: constraints.txt fixes every package so a record re-renders identically later.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Debian's Chromium for the browser tests (Playwright never downloads a browser here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Chromium from Debian's packages"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The signing tests make real keys with ssh-keygen and check signatures with openssl.
ssh-keygen:
	@command -v ssh-keygen >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1 || { \
	  echo "installing openssh-client and openssl from Debian's packages"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq openssh-client openssl >/dev/null; }
# Debian's PostgreSQL for the meeting store's tests (each test run makes a throw-away
# cluster in a temp folder; nothing is started here).
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "installing PostgreSQL from Debian's packages"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }

# Your own copy of the finished example, so the shipped one stays pristine.
$(LAB_DIR)/review.json:
	mkdir -p $(LAB_DIR)
	cp workbooks/example/review.json $(LAB_DIR)/review.json

lab: $(STAMP) $(LAB_DIR)/review.json
	cp -n workbooks/release_review.ipynb $(LAB_DIR)/ 2>/dev/null || true
	install -D -m 644 $(LAB_OVERRIDES) $(VENV)/share/jupyter/lab/settings/overrides.json
	$(BIN)/jupyter lab $(ROOT_FLAG) $(LAB_DIR)/release_review.ipynb

# One kernel kept ready (Voila's pre-heating): it runs the notebook before the page is
# asked for, so a page opened once it is ready shows the workbook without waiting for
# its cells; it follows nobody's edits until a page takes it (workbook/live.py), and
# Voila readies the next one ten seconds after (fill_delay: not while the first page loads).
VOILA_OPTIONS := --template=deliberation --preheat_kernel=True --pool_size=1 --VoilaKernelManager.fill_delay=10

present: $(STAMP) $(LAB_DIR)/review.json
	cp -n workbooks/release_review.ipynb $(LAB_DIR)/ 2>/dev/null || true
	JUPYTER_PATH=$(VOILA_PATH) $(BIN)/voila $(VOILA_OPTIONS) $(LAB_DIR)/release_review.ipynb

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

test: $(STAMP) chromium ssh-keygen postgresql lint
	$(BIN)/pytest

# The example as a meeting: a private link per participant (see the README).
MEETING_DIR := reviews/meeting
meeting: $(STAMP)
	mkdir -p $(MEETING_DIR)
	cp -n workbooks/example/review.json workbooks/release_review.ipynb $(MEETING_DIR)/ 2>/dev/null || true
	$(BIN)/deliberation serve $(MEETING_DIR)

# The finished text-to-image example, exported headless into a fresh archive.
DEMO := build/demo
demo: $(STAMP)
	rm -rf $(DEMO) && mkdir -p $(DEMO)/review
	cp workbooks/example/review.json workbooks/release_review.ipynb $(DEMO)/review/
	$(BIN)/deliberation export $(DEMO)/review --archive $(DEMO)/archive
	$(BIN)/deliberation verify $(DEMO)/archive

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# Regenerate committed artifacts (a test checks they are current).
schema: $(STAMP)
	$(BIN)/deliberation schema > schema/review.schema.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis reviews
