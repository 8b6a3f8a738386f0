#!/usr/bin/env bash
# Extra set-up of concord-sequence, run by scripts/install.sh as: bash install.sh VENV MODE
# In test mode: the RecBole 1.2.1 wheel without its dependencies, only for the MovieLens-100K
# atomic files it ships (recbole/dataset_example/ml-100k/), which a test reads without importing
# RecBole. The library itself never depends on RecBole.
set -euo pipefail
venv="$1"
mode="${2:-runtime}"
if [ "$mode" = "test" ]; then
  out=$("$venv/bin/python" -m pip install --disable-pip-version-check -q --no-deps "recbole==1.2.1" 2>&1) \
    || { printf '%s\n' "$out" >&2; exit 1; }
fi
