"""train.device resolution and the process-group backend that follows the device."""

from __future__ import annotations

import pytest
import torch

from concord import distributed
from concord.devices import backend_for, check_device, resolve_device
from concord.errors import DeviceError


def test_spellings():
    for ok in ("cpu", "cuda", "cuda:1", "auto"):
        assert check_device("train.device", ok) == ok
    for bad in ("gpu", "cuda:", "cuda:x", "CPU", 0):
        with pytest.raises(DeviceError, match=r"train.device must be one of auto, cpu, cuda or cuda:N"):
            check_device("train.device", bad)


def test_cpu_build_refuses_cuda_in_one_line(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(DeviceError) as info:
        resolve_device("cuda")
    assert "\n" not in str(info.value) and "use cpu or auto" in str(info.value)


def test_gpu_indices_follow_local_rank_and_are_checked(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert resolve_device("cuda") == torch.device("cuda", 1)
    assert resolve_device("auto") == torch.device("cuda", 1)
    assert resolve_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(DeviceError, match="only 2 GPU"):
        resolve_device("cuda:2")
    monkeypatch.setenv("LOCAL_RANK", "3")
    with pytest.raises(DeviceError, match="LOCAL_RANK 3 >= the 2 visible"):
        resolve_device("cuda")


def test_backend_follows_the_device_not_the_machine(monkeypatch):
    """A CPU run on a GPU machine must join with gloo: nccl cannot all-gather CPU tensors."""
    seen = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: seen.append(("set_device", d)))
    monkeypatch.setattr(distributed.dist, "is_initialized", lambda: False)
    monkeypatch.setattr(distributed.dist, "init_process_group", lambda backend: seen.append(backend))
    monkeypatch.setattr(distributed.dist, "get_rank", lambda: 0)
    monkeypatch.setattr(distributed.dist, "get_world_size", lambda: 2)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    distributed.init_from_env("cpu")
    assert seen == ["gloo"]
    seen.clear()
    distributed.init_from_env("cuda")
    assert seen == [("set_device", torch.device("cuda", 1)), "nccl"]
    assert backend_for("cpu") == "gloo" and backend_for(torch.device("cuda", 0)) == "nccl"
