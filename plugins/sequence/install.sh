#!/usr/bin/env bash
# Extra set-up of concord-sequence, run by scripts/install.sh as: bash install.sh VENV MODE
# In test mode: the MovieLens-100K atomic files that the RecBole 1.2.1 wheel ships
# (recbole/dataset_example/ml-100k/) are extracted to VENV/share/concord-sequence/ml-100k/, where
# a test reads them as real RecBole data. RecBole itself is not installed (its pinned dependencies
# would not resolve next to ours); the library never depends on it. The wheel is cached outside
# the repository ($CONCORD_CACHE, default ~/.cache/concord) and fetched again only when missing.
set -euo pipefail
venv="$1"
mode="${2:-runtime}"
[ "$mode" = "test" ] || exit 0
dest="$venv/share/concord-sequence/ml-100k"
[ -s "$dest/ml-100k.inter" ] && exit 0
cache="${CONCORD_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/concord}/wheels"
mkdir -p "$cache"
wheel=$(ls "$cache"/recbole-1.2.1-*.whl 2>/dev/null | head -n1 || true)
# a cached wheel that is not a readable zip (an interrupted copy) is fetched again
if [ -n "$wheel" ] && ! "$venv/bin/python" -c 'import sys, zipfile; sys.exit(zipfile.ZipFile(sys.argv[1]).testzip() is not None)' "$wheel" 2>/dev/null; then
  rm -f "$wheel"
  wheel=""
fi
if [ -z "$wheel" ]; then
  out=$("$venv/bin/python" -m pip download --disable-pip-version-check -q --no-deps \
        --only-binary=:all: -d "$cache" "recbole==1.2.1" 2>&1) \
    || { printf '%s\n' "$out" >&2; exit 1; }
  wheel=$(ls "$cache"/recbole-1.2.1-*.whl | head -n1)
fi
"$venv/bin/python" - "$wheel" "$dest" <<'PY'
import sys, zipfile
from pathlib import Path

wheel, dest = sys.argv[1], Path(sys.argv[2])
prefix = "recbole/dataset_example/ml-100k/"
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith(prefix) and not n.endswith("/")]
    if not any(n.endswith("ml-100k.inter") for n in names):
        sys.exit(f"{wheel} has no {prefix}ml-100k.inter; delete it from the cache and retry")
    dest.mkdir(parents=True, exist_ok=True)
    for n in names:
        part = dest / (n[len(prefix):] + ".part")
        part.write_bytes(z.read(n))
        part.replace(dest / n[len(prefix):])
PY
