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
# pytest-xdist workers for make test: test files (and notebooks) are spread over them, one file per worker.
TEST_WORKERS ?= 2

.PHONY: help venv book pdf test notebooks variant-html bench clean

help:
	@echo "make book        render the stored notebooks to _build/html (no re-execution)"
	@echo "make pdf         the book as one PDF: _build/pdf/scaling-laws.pdf (needs Chromium; installs it if it can)"
	@echo "make test        the book, its PDF, pytest on tests/ and nbval on every notebook in book/"
	@echo "make notebooks   execute every chapter in place with papermill (CHAPTER=name for one;"
	@echo "                 PARAMS='-p name value ...' writes a variant under _build/variants/)"
	@echo "make variant-html VARIANT=_build/variants/<chapter>/<file>.ipynb"
	@echo "                 render a rerun as a page of the book (glued numbers, equations, citations)"
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
	elapsed=$$(( $$(date +%s) - start )); \
	$(BIN)/python tools/write_status.py --record "make book" $$elapsed; \
	echo "make book: wall time $$elapsed s"

# make pdf: print the freshly built book with Chromium (tools/build_pdf.py); Debian's chromium and
# fonts-noto-cjk are installed first if missing (tools/debian_packages.sh says what to do if it cannot).
pdf: book
	@start=$$(date +%s); \
	bash tools/debian_packages.sh || exit 1; \
	$(BIN)/python tools/build_pdf.py || exit 1; \
	elapsed=$$(( $$(date +%s) - start )); \
	$(BIN)/python tools/write_status.py --record "make pdf" $$elapsed; \
	echo "make pdf: wall time $$elapsed s"

# make test: the nitpicky book build (warnings are errors, so broken links and references fail), its
# PDF, then the library and book tests (the browser test of the built pages, the PDF's test, a rerun
# rendered as a page), then nbval. Without Chromium (and no way to install it) the browser and PDF
# tests skip, unless REQUIRE_BROWSER=1 (.ci/run), where they fail.
test: $(STAMP)
	@start=$$(date +%s); status=0; \
	$(MAKE) --no-print-directory book || status=1; \
	if bash tools/debian_packages.sh; then $(BIN)/python tools/build_pdf.py || status=1; \
	elif [ "$$REQUIRE_BROWSER" = 1 ]; then status=1; fi; \
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile tests/ || status=1; \
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --nbval book/ --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider || status=1; \
	elapsed=$$(( $$(date +%s) - start )); \
	if [ $$status = 0 ]; then $(BIN)/python tools/write_status.py --record "make test" $$elapsed; fi; \
	echo "make test: wall time $$elapsed s"; exit $$status

notebooks: $(STAMP)
	$(BIN)/python tools/run_notebooks.py $(if $(CHAPTER),--chapter $(CHAPTER)) $(if $(PARAMS),--params "$(PARAMS)")

variant-html: $(STAMP)
	@test -n "$(VARIANT)" || { echo "usage: make variant-html VARIANT=_build/variants/<chapter>/<file>.ipynb"; exit 2; }
	$(BIN)/python tools/render_variant.py "$(VARIANT)"

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf _build .pytest_cache .hypothesis
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +

# The Learning Law at the paper's size (D 128, N 4096, M 512, T 2000): optimises the data-weighting
# policy (120 iterations: 53 minutes on a shared 2-core machine, not certified) and writes
# data/learning_law/paper_size.json (results, parameters, code version), which book/learning_law.ipynb
# loads and checks. The benchmarks' records that the chapter loads are rewritten by
# `.venv/bin/python benchmarks/bench_learning_law.py --record` (about a minute) and
# `.venv/bin/python benchmarks/bench_learning_law_methods.py --methods all --record` (about eight minutes).
.PHONY: learning-law-paper
learning-law-paper: $(STAMP)
	$(BIN)/python data/learning_law/compute_paper_size.py
