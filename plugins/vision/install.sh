#!/usr/bin/env bash
# Extra set-up of concord-vision, run by scripts/install.sh as: bash install.sh VENV MODE
#
# mmsegmentation 1.2.2 imports mmcv's compiled ops (mmcv.ops) and accepts only mmcv < 2.2.0; PyPI
# has no mmcv 2.1.0 wheel for torch 2.13, so it is built from the sdist (about 35 minutes on 2
# cores, 2.7 GB RAM; recipe in ../shared/ENVIRONMENT.md) in a throw-away build environment with
# the repository's torch pin, and the wheel is cached outside the repository in
# ${CONCORD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/concord}/wheels. A cached wheel is reused when
# it is a readable zip and its compiled ops load against this venv's torch; otherwise it is
# rebuilt. The wheel is installed into VENV before the plugin (whose mmcv==2.1.0 it satisfies).
set -euo pipefail
venv="$1"
mode="${2:-runtime}"  # runtime or test: both need mmcv
py="$venv/bin/python"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
version="2.1.0"

ops_load() { "$py" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$version'" >/dev/null 2>&1; }
ops_load && exit 0

cache="${CONCORD_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/concord}/wheels"
mkdir -p "$cache"
pipq() { # pip, quiet, without the machine's warnings about absent local index folders
  local python="$1" out status=0
  shift
  out=$("$python" -m pip --disable-pip-version-check "$@" 2>&1) || status=$?
  printf '%s\n' "$out" | grep -vE "is ignored: it is neither a file nor a directory|^$" >&2 || true
  return "$status"
}
readable() { "$py" -c 'import sys, zipfile; sys.exit(zipfile.ZipFile(sys.argv[1]).testzip() is not None)' "$1" 2>/dev/null; }
cached() { ls "$cache"/mmcv-"$version"-*.whl 2>/dev/null | head -n1 || true; }

build() {
  local tmp
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/concord-mmcv.XXXXXX")"
  echo "[concord-vision] building mmcv $version from the sdist (about 35 minutes on 2 cores, once; log: $tmp/build.log)" >&2
  python3 -m venv "$tmp/env"
  pipq "$tmp/env/bin/python" install -q -c "$root/constraints.txt" torch==2.13.0 "setuptools==80.9.0" wheel ninja numpy
  if ! MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-2}" "$tmp/env/bin/python" -m pip wheel \
      --disable-pip-version-check --no-deps --no-build-isolation -w "$tmp/out" "mmcv==$version" \
      >"$tmp/build.log" 2>&1; then
    tail -n 30 "$tmp/build.log" >&2
    echo "[concord-vision] building mmcv failed; full log: $tmp/build.log" >&2
    exit 1
  fi
  local built
  built="$(ls "$tmp"/out/mmcv-"$version"-*.whl)"
  cp "$built" "$cache/$(basename "$built").part"
  mv "$cache/$(basename "$built").part" "$cache/$(basename "$built")"  # atomic in one folder
  rm -rf "$tmp"
}

wheel="$(cached)"
if [ -n "$wheel" ] && ! readable "$wheel"; then
  echo "[concord-vision] cached $wheel is not a readable wheel; rebuilding" >&2
  rm -f "$wheel"
  wheel=""
fi
[ -n "$wheel" ] || { build; wheel="$(cached)"; }
pipq "$py" install -q -c "$root/constraints.txt" "$wheel" "mmengine==0.10.7"
if ! ops_load; then  # e.g. a wheel cached from another torch build: its ops do not load
  echo "[concord-vision] mmcv ops from $wheel do not load with this torch; rebuilding" >&2
  rm -f "$wheel"
  build
  pipq "$py" install -q --force-reinstall --no-deps "$(cached)"
  ops_load || { echo "[concord-vision] mmcv $version ops still do not load" >&2; exit 1; }
fi
echo "[concord-vision] mmcv $version with compiled ops installed from $(basename "$wheel")" >&2
