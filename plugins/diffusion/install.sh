#!/usr/bin/env bash
# Extra set-up of concord-diffusion, run by scripts/install.sh as: bash install.sh VENV MODE
# Installs the exact diffusers / accelerate versions these machines are tested with, under the
# repository's constraints (torch 2.13.0 CPU, setuptools 80.9.0), so that resolving the plugin's
# ranges never pulls another torch. Nothing is downloaded at test or run time.
set -euo pipefail
venv="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out=$("$venv/bin/python" -m pip install --disable-pip-version-check -q -c "$root/constraints.txt" \
      "diffusers==0.42.1" "accelerate==1.15.0" 2>&1) || { printf '%s\n' "$out" >&2; exit 1; }
printf '%s\n' "$out" | grep -vE "is ignored: it is neither a file nor a directory|^$" >&2 || true
