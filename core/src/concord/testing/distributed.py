"""Run a function in several CPU processes (gloo) and collect what each returns.

For tests that show a gathering loss gives, on every rank, the single-process loss and
gradients of the global batch::

    def worker(rank, world_size, data):
        ...  # the process group is initialised; compute with data[rank]
        return {"loss": loss.detach(), "grad": z.grad}

    results = run_distributed(worker, 2, data)   # [result of rank 0, result of rank 1]

Processes are forked (Linux) by default, so ``worker`` may be defined in a test module; pass
``start_method="spawn"`` for a worker defined in an importable module on other platforms.
"""

from __future__ import annotations

import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

__all__ = ["run_distributed"]


def _entry(
    rank: int, fn: Callable[..., Any], world_size: int, folder: str, args: tuple[Any, ...]
) -> None:
    torch.set_num_threads(1)
    out = Path(folder) / f"rank{rank}.pt"
    try:
        dist.init_process_group(
            "gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=world_size
        )
        try:
            result = fn(rank, world_size, *args)
            torch.save({"ok": True, "result": result}, out)
        finally:
            dist.destroy_process_group()
    except BaseException:
        torch.save({"ok": False, "error": traceback.format_exc()}, out)
        raise


def run_distributed(
    fn: Callable[..., Any],
    world_size: int = 2,
    *args: Any,
    start_method: str = "fork",
    timeout: float = 300.0,
) -> list[Any]:
    """Call ``fn(rank, world_size, *args)`` in ``world_size`` processes joined by a gloo group;
    return the results in rank order. A failure in any rank raises with that rank's traceback."""
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    with tempfile.TemporaryDirectory(prefix="concord-dist-") as folder:
        ctx = mp.start_processes(
            _entry, args=(fn, world_size, folder, args), nprocs=world_size,
            join=False, start_method=start_method,
        )
        deadline = time.monotonic() + timeout
        try:
            while not ctx.join(timeout=max(0.1, deadline - time.monotonic())):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"distributed run did not finish within {timeout} s")
        except mp.ProcessRaisedException:
            pass  # the rank's own traceback is read from its result file below
        except mp.ProcessExitedException:
            pass
        finally:
            for p in ctx.processes:
                if p.is_alive():
                    p.kill()
        results = []
        for rank in range(world_size):
            path = Path(folder) / f"rank{rank}.pt"
            if not path.exists():
                raise RuntimeError(f"rank {rank} exited without a result (killed or crashed)")
            payload = torch.load(path, weights_only=False)
            if not payload["ok"]:
                raise RuntimeError(f"rank {rank} failed:\n{payload['error']}")
            results.append(payload["result"])
        return results

