# The single entry point.  `make book` and `make test` work on a fresh machine that has only
# Python 3.11 and make: they (re)create .venv from requirements.txt when it is missing or stale.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# One BLAS thread: the problems here are small, and on a 2-core machine a threaded BLAS makes
# L-BFGS-B's tiny calls ~20x slower; it also keeps reductions in one order, so outputs reproduce.
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1

CHAPTER ?=
PARAMS  ?=

.PHONY: help venv book test notebooks variant-html bench clean

help:
	@echo "make book        render the stored notebooks to _build/html (no re-execution)"
	@echo "make test        pytest on tests/ and nbval on every notebook in book/"
	@echo "make notebooks   execute every chapter in place with papermill (CHAPTER=name for one;"
	@echo "                 PARAMS='-p name value ...' writes a variant under _build/variants/)"
	@echo "make bench       run the benchmarks; they print ratios measured in one run"
	@echo "make clean       remove _build and caches (keeps .venv)"

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

book: $(STAMP)
	@start=$$(date +%s); \
	$(BIN)/python tools/stage_mathjax.py || exit 1; \
	$(BIN)/python tools/write_status.py || exit 1; \
	$(BIN)/jupyter-book build . --all --builder html -W -n --keep-going || exit 1; \
	echo "make book: wall time $$(( $$(date +%s) - start )) s"

# make test: the nitpicky book build (warnings are errors, so broken links and references fail),
# then the library and book tests (including the browser test of the built pages), then nbval.
test: $(STAMP)
	@start=$$(date +%s); status=0; \
	$(MAKE) --no-print-directory book || status=1; \
	$(BIN)/python -m pytest tests/ || status=1; \
	$(BIN)/python -m pytest --nbval book/ --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider || status=1; \
	echo "make test: wall time $$(( $$(date +%s) - start )) s"; exit $$status

notebooks: $(STAMP)
	$(BIN)/python tools/run_notebooks.py $(if $(CHAPTER),--chapter $(CHAPTER)) $(if $(PARAMS),--params "$(PARAMS)")

variant-html: $(STAMP)
	@test -n "$(VARIANT)" || { echo "usage: make variant-html VARIANT=_build/variants/<chapter>/<file>.ipynb"; exit 2; }
	$(BIN)/jupyter nbconvert --to html "$(VARIANT)"

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf _build .pytest_cache .hypothesis
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +

# The Learning Law at the paper's size (D 128, N 4096, M 512, T 2000): optimises the data-weighting
# policy (about half an hour on an unloaded 2-core machine) and writes data/learning_law/paper_size.json
# (results, parameters, code version), which book/learning_law.ipynb loads and checks.
.PHONY: learning-law-paper
learning-law-paper: $(STAMP)
	$(BIN)/python data/learning_law/compute_paper_size.py
