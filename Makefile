# The README's two commands. Both work from a fresh clone with only Python installed.
PYTHON ?= python3

.PHONY: install demo test lint

# torch first, pinned to the CPU wheel this machine carries; a bare `torch` requirement
# with no torch installed would pull the newest CUDA build (several GB).
install:
	$(PYTHON) -c "import torch" 2>/dev/null || $(PYTHON) -m pip install torch==2.13.0
	$(PYTHON) -m pip install -e ".[test]"

demo: install
	hf-graph4mm demo

test: install
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pytest -q -p no:cacheprovider

lint:
	$(PYTHON) -m ruff check .
