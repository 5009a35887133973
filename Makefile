# Every target installs what it needs, so each works on a fresh machine:
#   make book    executes every notebook and writes the website to _build/html
#   make test    builds the book, then runs every test (unit, the site in Chromium, live sliders
#                in JupyterLab, Binder's environment), then nbval over every chapter in a replica
#                of Colab's runtime
#   make lab     opens the book in JupyterLab, with live widgets
#   make bench   runs the benchmarks in benchmarks/
#   make setup   only creates .venv and installs kanlab with the book and test tools
#   make clean   removes what the builds and tests wrote (keeps .venv)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.kanlab-installed
ASSETS := tests/.offline-assets
REPLICA := tests/.colab-replica/active
# JupyterLab refuses to start as root unless told that it is on purpose (CI runs as root).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: setup book test lab bench clean chromium

setup: $(INSTALLED)

# Reinstalls only when pyproject.toml changes. Packages already in the venv (CI puts the CPU
# build of torch there first) are kept.
$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e '.[book,test]'
	touch $@

book: $(INSTALLED)
	rm -rf _build/html
	$(BIN)/jupyter-book build . --all -W -n --keep-going

# MathJax for the browser tests, from npm (the pages load it from a CDN; the tests answer
# those requests with this copy, offline).
$(ASSETS)/mathjax/es5/tex-mml-chtml.js:
	@command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y --no-install-recommends npm; \
	  else echo "make test needs npm to fetch MathJax: install Node.js and npm" >&2; exit 1; fi; }
	rm -rf $(ASSETS)/mathjax && mkdir -p $(ASSETS)/mathjax
	cd $(ASSETS) && tarball=$$(npm pack --silent mathjax@3) && \
	  tar -xzf "$$tarball" -C mathjax --strip-components=1 && rm "$$tarball"

chromium:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y --no-install-recommends chromium; \
	  else echo "make test needs Debian's chromium at /usr/bin/chromium: sudo apt-get install chromium" >&2; exit 1; fi; }

test: book chromium $(ASSETS)/mathjax/es5/tex-mml-chtml.js
# The book build has run every chapter once in .venv. tests/colab/ builds a replica of Colab's
# runtime (cached in tests/.colab-replica/) and installs kanlab there with the chapters' own install
# cell; then nbval runs every chapter once more, in that replica's kernel: a cell that raises fails.
	$(BIN)/python -m pytest -n 2 --dist loadscope tests
	JUPYTER_PATH=$(REPLICA)/share/jupyter $(BIN)/python -m pytest -n 2 --dist loadscope -p no:cacheprovider \
	  --nbval-lax --nbval-kernel-name colab-replica --nbval-cell-timeout 600 book

lab: $(INSTALLED)
	$(BIN)/jupyter lab $(ALLOW_ROOT)

bench: $(INSTALLED)
	@for script in benchmarks/*.py; do \
	  echo "== $$script"; $(BIN)/python "$$script" || exit 1; \
	done

clean:
	rm -rf _build $(ASSETS) .pytest_cache .hypothesis
