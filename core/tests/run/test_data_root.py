"""The default data root: $CONCORD_DATA, else data/ under the working directory."""

from __future__ import annotations

from concord.run.data_root import default_data_root


def test_environment_variable_wins(monkeypatch):
    monkeypatch.setenv("CONCORD_DATA", "/srv/datasets")
    assert default_data_root() == "/srv/datasets"


def test_data_under_the_working_directory_otherwise(monkeypatch):
    monkeypatch.delenv("CONCORD_DATA", raising=False)
    assert default_data_root() == "data"
    monkeypatch.setenv("CONCORD_DATA", "")
    assert default_data_root() == "data"
