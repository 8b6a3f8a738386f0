#!/usr/bin/env bash
# Create the project's virtual environment and install concord and every plugin in this checkout.
#
#   bash scripts/install.sh          # runtime: core (+ examples) and every plugin
#   bash scripts/install.sh --test   # the same plus test dependencies
#
# The environment is $CONCORD_VENV (default: .venv in the repository root). torch and setuptools
# are pinned by constraints.txt (a CPU build of torch 2.13.0; see ../shared/ENVIRONMENT.md).
# A plugin that needs extra set-up (e.g. building a wheel) ships plugins/<domain>/install.sh,
# run as `bash install.sh VENV MODE` (MODE: runtime or test) before the plugin is installed:
# no plugin edits this file.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${CONCORD_VENV:-$root/.venv}"
extra=""
case "${1:-}" in
  --test) extra="test" ;;
  "") ;;
  *) echo "usage: bash scripts/install.sh [--test]" >&2; exit 2 ;;
esac

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
py="$venv/bin/python"
# pip, quiet, without the machine's warnings about absent local index folders; fails loudly.
pipi() {
  local out status=0
  out=$("$py" -m pip install --disable-pip-version-check -q -c "$root/constraints.txt" "$@" 2>&1) || status=$?
  printf '%s\n' "$out" | grep -vE "is ignored: it is neither a file nor a directory|^$" >&2 || true
  return "$status"
}

pipi torch==2.13.0 "setuptools==80.9.0" wheel
# the core was distributed as `concord` before it became `concord-core` (PyPI's `concord` is an
# unrelated project): an old editable install of this checkout would declare every core
# component a second time
if "$py" -m pip show concord 2>/dev/null | grep -q "^Editable project location: $root/core$"; then
  "$py" -m pip uninstall -y -q concord
fi
core_extras="examples"
[ -n "$extra" ] && core_extras="examples,test"
pipi --no-build-isolation -e "$root/core[$core_extras]"
"$py" -c "import concord" || { echo "installing the core failed" >&2; exit 1; }

for plugin in "$root"/plugins/*/; do
  [ -f "$plugin/pyproject.toml" ] || continue
  if [ -f "$plugin/install.sh" ]; then
    bash "$plugin/install.sh" "$venv" "${extra:-runtime}"
  fi
  if [ -n "$extra" ]; then
    pipi --no-build-isolation -e "${plugin%/}[test]"
  else
    pipi --no-build-isolation -e "${plugin%/}"
  fi
done
if [ -n "$extra" ]; then
  # a third party's own distribution with a concord.losses entry point (tests/test_third_party.py)
  pipi --no-build-isolation -e "$root/tests/thirdparty"
fi
"$py" -m pip check --disable-pip-version-check >/dev/null || "$py" -m pip check --disable-pip-version-check
echo "concord environment ready: $venv"
