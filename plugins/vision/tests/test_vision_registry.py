"""The plugin's components are found through entry points under ``vision.``, and loading the
losses, samplers and augmentations imports no OpenMMLab package (the contract suite and any
torch-only user pay nothing for mmseg)."""

from __future__ import annotations

import json
import subprocess
import sys

from concord.registry import Registry

EXPECTED = {
    ("samplers", "vision.pixel_pairs"), ("losses", "vision.pixpro"),
    ("augmentations", "vision.random_resized_crop"), ("augmentations", "vision.random_flip"),
    ("augmentations", "vision.color_jitter"), ("augmentations", "vision.random_grayscale"),
    ("augmentations", "vision.gaussian_blur"), ("augmentations", "vision.solarize"),
    ("augmentations", "vision.two_views"), ("commands", "vision"),
}


def test_entry_points_are_declared_and_load():
    reg = Registry()
    found = {(c.group, c.name) for c in reg.components() if c.distribution == "concord-vision"}
    assert found == EXPECTED
    for group, name in EXPECTED - {("commands", "vision")}:
        assert reg.load(group, name).registry_name == name


def test_loading_the_components_imports_no_openmmlab():
    code = (
        "import sys, json\n"
        "from concord.registry import Registry\n"
        "reg = Registry()\n"
        f"for g, n in {sorted(EXPECTED - {('commands', 'vision')})!r}:\n"
        "    reg.load(g, n)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert not [m for m in loaded if m.split(".")[0] in ("mmengine", "mmcv", "mmseg")]
