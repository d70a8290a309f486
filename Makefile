# Everything runs inside .venv, created on first use from the system Python 3.11.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TORCH  := torch==2.13.0

.PHONY: help venv test book bench assignments grade clean

help:
	@echo "make book         execute every chapter and build _build/html"
	@echo "make test         run the whole test suite (includes the book build)"
	@echo "make bench        benchmarks (optimizer step time, grading time)"
	@echo "make assignments  regenerate assignments/ from solutions/ (nbgrader)"
	@echo "make grade A=id   autograde grading/submitted/*/id and export grades"

venv: $(STAMP)

# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[book,grading,dev]"
	touch $(STAMP)

# Two workers; tests that share an expensive fixture (the book build, one nbgrader course
# per assignment) are grouped so that each fixture is built once.
test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadgroup

book: $(STAMP)
	$(VENV)/bin/jupyter-book build . -W -n --keep-going

bench: $(STAMP)
	$(PY) bench/optim_step.py
	$(PY) bench/grading.py

assignments: $(STAMP)
	$(PY) tools/grade.py release

grade: $(STAMP)
	$(PY) tools/grade.py grade $(A)

clean:
	rm -rf _build
