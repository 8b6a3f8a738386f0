"""Config fields naming registered components: checked at load time against the registry and
the constructor, renamed with --set, built with trainer-provided options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from concord.errors import ConfigError
from concord.losses import L2, NTXent
from concord.run import build_component, component_field, load_config


@dataclass
class Train:
    epochs: int = 1


@dataclass
class Cfg:
    seed: int = 0
    train: Train = field(default_factory=Train)
    loss: dict[str, Any] = component_field("losses", {"name": "nt_xent", "temperature": 0.4},
                                           provided=("gather",))
    views: list[dict[str, Any]] = component_field(
        "augmentations", [{"name": "gaussian_noise", "std": 0.1}], many=True)


@dataclass
class Fixed:
    seed: int = 0
    loss: dict[str, Any] = component_field("losses", {"name": "nt_xent"},
                                           fixed_by="the method's update is derived for NT-Xent")


def test_unknown_name_and_option_are_config_errors_at_load(tmp_path):
    with pytest.raises(ConfigError, match=r"loss.name: no loss named 'nt_xnet' .*did you mean 'nt_xent'"):
        load_config(Cfg, None, ["loss.name=nt_xnet"])
    with pytest.raises(ConfigError, match=r"loss: nt_xent: unknown option\(s\) 'temprature' \(did you mean 'temperature'\?\)"):
        load_config(Cfg, None, ["loss.temprature=0.2"])
    with pytest.raises(ConfigError, match=r"views\[0\]: gaussian_noise: unknown option\(s\) 'sd'"):
        load_config(Cfg, None, ["views=[{name: gaussian_noise, sd: 0.1}]"])
    with pytest.raises(ConfigError, match="'gather' is set by the trainer"):
        load_config(Cfg, None, ["loss.gather=true"])
    with pytest.raises(ConfigError, match="needs a 'name'"):
        load_config(Cfg, None, ["views=[{std: 0.1}]"])
    # without a name, a spec gives options of the default component
    assert load_config(Cfg, None, ["loss={temperature: 0.1}"]).loss == {"name": "nt_xent", "temperature": 0.1}


def test_renaming_starts_the_new_component_from_its_own_defaults(tmp_path):
    # nt_xent's temperature would be an unknown option of l2: the rename drops it
    cfg = load_config(Cfg, None, ["loss.name=l2", "loss.squared=false"])
    assert cfg.loss == {"name": "l2", "squared": False}
    # options set after or before the rename both stick to the new component
    assert load_config(Cfg, None, ["loss.squared=false", "loss.name=l2"]).loss["squared"] is False
    # setting an option without renaming keeps the default name and other options
    assert load_config(Cfg, None, ["loss.temperature=0.1"]).loss == {"name": "nt_xent", "temperature": 0.1}
    # a file's options for the same name stay
    f = tmp_path / "c.yaml"
    f.write_text("loss: {name: nt_xent, temperature: 0.3}\n")
    assert load_config(Cfg, f, ["loss.name=nt_xent"]).loss == {"name": "nt_xent", "temperature": 0.3}


def test_a_fixed_component_says_why():
    with pytest.raises(ConfigError, match="the method's update is derived for NT-Xent, so it takes no other loss"):
        load_config(Fixed, None, ["loss.name=l2"])
    assert load_config(Fixed, None, ["loss.temperature=0.3"]).loss == {"name": "nt_xent", "temperature": 0.3}


def test_build_passes_provided_options_only_where_they_are_taken():
    nt = build_component("losses", {"name": "nt_xent", "temperature": 0.3}, where="loss",
                         provided={"gather": True})
    assert isinstance(nt, NTXent) and nt.gather is True and nt.temperature == 0.3
    l2 = build_component("losses", {"name": "l2"}, where="loss", provided={"gather": True})
    assert isinstance(l2, L2)  # takes no gather: fine on one process
    with pytest.raises(ConfigError, match=r"loss.name='l2': this run needs a component that takes gather= \(contrast across processes\)"):
        build_component("losses", {"name": "l2"}, where="loss", provided={"gather": True},
                        required=("gather",), why={"gather": "contrast across processes"})
