"""Importing concord and listing plugins must not import any plugin's framework."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch_geometric", "mmengine", "mmseg", "mmcv", "diffusers", "accelerate", "recbole")


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout


def test_import_concord_imports_no_framework_and_not_torch():
    loaded = json.loads(_run("import sys, json, concord; print(json.dumps(sorted(sys.modules)))"))
    assert "torch" not in loaded
    assert not [m for m in loaded if m.split(".")[0] in HEAVY]


def test_concord_plugins_imports_no_framework():
    code = (
        "import sys, json, io, contextlib\n"
        "from concord.cli import main\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    main(['plugins', '--json'])\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded = json.loads(_run(code))
    assert not [m for m in loaded if m.split(".")[0] in HEAVY]
    assert "torch" not in loaded


def test_concord_plugins_json_lists_core_components_unchecked():
    out = subprocess.run(
        [sys.executable, "-m", "concord.cli", "plugins", "--json"], capture_output=True, text=True
    )
    rows = json.loads(out.stdout)
    core = {(r["group"], r["name"]): r["status"] for r in rows if r["distribution"] == "concord-core"}
    assert core[("losses", "nt_xent")] == "unchecked"  # listed from metadata, not imported
    assert core[("samplers", "labels")] == "unchecked"
