# Everything runs inside .venv, created on first use from the system Python 3.11 and
# installed from requirements.lock: exact versions with their hashes, so every machine
# tests what was tested here. `make lock` refreshes the lock from pyproject.toml's ranges.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock
# torch's CPU build is not on PyPI; pip asks this index for torch alone (a machine with
# the wheel in a local find-links folder takes it from there; TORCH_INDEX= skips the index).
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: help venv lock sandbox browser test book bench assignments grade clean

help:
	@echo "make book         execute every chapter and build _build/html"
	@echo "make test         run the whole test suite (includes the book build)"
	@echo "make lock         recompile requirements.lock from pyproject.toml (needs the network)"
	@echo "make bench        benchmarks (optimizer step time, grading time)"
	@echo "make assignments  regenerate assignments/ from solutions/ (nbgrader)"
	@echo "make grade A=id [J=n]  autograde grading/submitted/*/id (n workers), export grades"

venv: $(STAMP)

# torch first and on its own: only that one request goes to the PyTorch index. Then every
# other pinned package (--no-deps: the lock already lists the whole closure), then
# course_lib itself, editable.
$(STAMP): $(LOCK) pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	awk '/^torch==/{p=1; print; next} p && /^ +--hash/{print; next} {p=0}' $(LOCK) > $(VENV)/torch.lock
	$(PY) -m pip install --quiet --require-hashes --no-deps $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) -r $(VENV)/torch.lock
	$(PY) -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# pip-compile runs from its own environment, so that pip-tools' dependencies never change
# the versions in .venv. The torch pin is the CPU build (torch==X+cpu).
lock:
	test -x .lock-venv/bin/pip-compile || { $(PYTHON) -m venv .lock-venv && \
	  .lock-venv/bin/pip install --quiet pip-tools; }
	.lock-venv/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --extra torch --extra book --extra grading --extra dev --no-emit-find-links --no-emit-index-url \
	  $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) --upgrade --output-file $(LOCK) pyproject.toml

# $(call debian,COMMAND,PACKAGE,WHAT BREAKS WITHOUT IT): install Debian's package when the
# command is missing and we may (root with apt), or say loudly that not.
debian = command -v $(1) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && apt-get install -y -qq $(2) >/dev/null; \
	  else echo "WARNING: $(1) is missing: install it (apt-get install $(2)); $(3)."; fi; }

# The grader runs student code under bubblewrap (read-only world, no network).
sandbox:
	@$(call debian,bwrap,bubblewrap,without it student code runs with resource limits only)

# The book tests open every page in headless Chromium (tools/browser.py).
browser:
	@$(call debian,chromium,chromium,the browser tests of the book fail without it)

# Two workers; tests that share an expensive fixture (the book build, one nbgrader course
# per assignment) are grouped so that each fixture is built once.
test: $(STAMP) sandbox browser
	$(PY) -m pytest -q -n 2 --dist loadgroup

# Chapters execute in parallel into the cache the build reads (tools/execute_book.py):
# an unchanged rebuild executes nothing, a course_lib change executes everything.
book: $(STAMP)
	$(PY) tools/execute_book.py -j $(or $(J),2)
	$(VENV)/bin/jupyter-book build . -W -n --keep-going

bench: $(STAMP) sandbox
	$(PY) bench/optim_step.py
	$(PY) bench/grading.py
	$(PY) bench/grading_parallel.py
	$(PY) bench/attacks.py

assignments: $(STAMP)
	$(PY) tools/grade.py release

grade: $(STAMP) sandbox
	@test -n "$(A)" || { echo "usage: make grade A=<assignment id, e.g. a3_adaptive> [J=<workers>] [SCHEDULER=tcp://host:8786]"; exit 2; }
	$(PY) tools/grade.py grade $(A) -j $(or $(J),1) $(if $(SCHEDULER),--scheduler $(SCHEDULER))

clean:
	rm -rf _build
