# Everything runs inside .venv, created on first use from the system Python 3.11.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TORCH  := torch==2.13.0

.PHONY: help venv sandbox test book bench assignments grade clean

help:
	@echo "make book         execute every chapter and build _build/html"
	@echo "make test         run the whole test suite (includes the book build)"
	@echo "make bench        benchmarks (optimizer step time, grading time)"
	@echo "make assignments  regenerate assignments/ from solutions/ (nbgrader)"
	@echo "make grade A=id [J=n]  autograde grading/submitted/*/id (n workers), export grades"

venv: $(STAMP)

# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[book,grading,dev]"
	touch $(STAMP)

# The grader runs student code under bubblewrap (read-only world, no network); install
# Debian's package when it is missing and we may (root with apt), or say loudly that not.
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; \
	  else echo "WARNING: bubblewrap (bwrap) is missing: install it (apt-get install bubblewrap);" \
	       "without it student code runs with resource limits only."; fi; }

# Two workers; tests that share an expensive fixture (the book build, one nbgrader course
# per assignment) are grouped so that each fixture is built once.
test: $(STAMP) sandbox
	$(PY) -m pytest -q -n 2 --dist loadgroup

book: $(STAMP)
	$(VENV)/bin/jupyter-book build . -W -n --keep-going

bench: $(STAMP) sandbox
	$(PY) bench/optim_step.py
	$(PY) bench/grading.py
	$(PY) bench/grading_parallel.py

assignments: $(STAMP)
	$(PY) tools/grade.py release

grade: $(STAMP) sandbox
	@test -n "$(A)" || { echo "usage: make grade A=<assignment id, e.g. a3_adaptive> [J=<workers>]"; exit 2; }
	$(PY) tools/grade.py grade $(A) -j $(or $(J),1)

clean:
	rm -rf _build
