"""Strict run configurations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from concord.registry import ConfigError
from concord.run import apply_overrides, config_from_dict, config_to_dict, load_config


@dataclass
class Data:
    root: str = "builtin"
    name: Literal["a", "b"] = "a"


@dataclass
class Train:
    epochs: int = 3
    lr: float = 0.1
    dims: list[int] = field(default_factory=lambda: [8, 4])
    warmup: int | None = None

    def __post_init__(self) -> None:
        if self.epochs < 0:
            raise ValueError(f"epochs must be >= 0, got {self.epochs}")


@dataclass
class Cfg:
    seed: int = 0
    data: Data = field(default_factory=Data)
    train: Train = field(default_factory=Train)
    loss: dict[str, Any] = field(default_factory=lambda: {"name": "nt_xent", "temperature": 0.5})


def test_defaults_file_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epochs: 7\nloss:\n  name: info_nce\n")
    cfg = load_config(Cfg, path, ["train.lr=0.5", "data.name=b", "loss.temperature=0.2", "seed=3"])
    assert cfg.train.epochs == 7 and cfg.train.lr == 0.5 and cfg.train.dims == [8, 4]
    assert cfg.data.name == "b" and cfg.seed == 3
    assert cfg.loss == {"name": "info_nce", "temperature": 0.2}  # the file's dict replaced the default
    assert config_to_dict(cfg)["train"] == {"epochs": 7, "lr": 0.5, "dims": [8, 4], "warmup": None}


def test_override_keeps_the_rest_of_a_dict_field():
    cfg = load_config(Cfg, None, ["loss.temperature=0.1"])
    assert cfg.loss == {"name": "nt_xent", "temperature": 0.1}


def test_unknown_key_lists_valid_keys_with_suggestion():
    with pytest.raises(ConfigError, match=r"unknown config key\(s\) 'epoch' \(did you mean 'epochs'\?\) in section 'train'; valid keys: epochs, lr, dims, warmup"):
        config_from_dict(Cfg, {"train": {"epoch": 3}})
    with pytest.raises(ConfigError, match="in the top level; valid keys: seed, data, train, loss"):
        load_config(Cfg, None, ["trian.epochs=3"])


@pytest.mark.parametrize(
    "override, match",
    [
        ("train.epochs=1.5", "train.epochs: expected an integer, got 1.5"),
        ("train.epochs=true", "train.epochs: expected an integer"),
        ("train.lr=fast", "train.lr: expected a number"),
        ("data.name=c", r"data.name: must be one of \['a', 'b'\]"),
        ("train.dims=[1, x]", r"train.dims\[1\]: expected an integer"),
        ("train.epochs=-1", "train: epochs must be >= 0"),
        ("train=5", "train: expected a section"),
        ("novalue", "key=value"),
    ],
)
def test_bad_values_name_the_key(override, match):
    with pytest.raises(ConfigError, match=match):
        load_config(Cfg, None, [override])


def test_optional_and_int_to_float():
    cfg = load_config(Cfg, None, ["train.warmup=5", "train.lr=1"])
    assert cfg.train.warmup == 5 and cfg.train.lr == 1.0 and isinstance(cfg.train.lr, float)
    assert load_config(Cfg, None, ["train.warmup=null"]).train.warmup is None


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(Cfg, tmp_path / "missing.yaml")
    p = tmp_path / "list.yaml"
    p.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(Cfg, p)
    p.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(Cfg, p)


def test_apply_overrides_does_not_mutate_input():
    data = {"a": {"b": 1}}
    out = apply_overrides(data, ["a.c=2"])
    assert data == {"a": {"b": 1}} and out == {"a": {"b": 1, "c": 2}}
