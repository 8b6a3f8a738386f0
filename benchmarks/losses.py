"""Forward+backward time and peak memory of concord's NT-Xent (or SupCon) against
pytorch-metric-learning's.

    .venv/bin/python benchmarks/losses.py [--loss nt_xent|sup_con|zoo] [--sizes 256 1024 4096]
        [--dim 128] [--repeats 5] [--classes 100] [--threads N]

Timing: both implementations run in this process on the same inputs, alternating, after a
warm-up; the median of ``--repeats`` runs is reported with the ratio concord / PML (< 1: concord
is faster). Peak memory: on CUDA, ``torch.cuda.max_memory_allocated``; on CPU, each measurement
runs in a fresh child process that first takes a small warm-up step, resets its peak resident
set size (VmHWM) and reports its growth over the resident set once the inputs exist -- the CPU
allocator gives no finer counter.
``concord (block=256)`` is NT-Xent with ``block_size=256``: checkpointed query blocks, memory
O(256 x 2N) instead of O(2N x 2N). ``textbook`` is the dense formulation most SimCLR code uses
(lightly, the SimCLR reference): a 2N x 2N logit matrix with the diagonal masked, then
``F.cross_entropy`` -- the yardstick at the sizes where PML's NT-Xent cannot run (it builds a
positives x negatives matrix, O(N^3) memory). Ratios are against PML and against ``textbook``.

``--loss zoo``: the core zoo -- ``swav``, ``moco_hard_mixing``, ``isogclr``, ``conr``, ``tcm`` --
each on the same two views ``z1, z2`` as ``nt_xent`` (its row of the table is the yardstick:
``time / nt_xent``, ``mem / nt_xent``), and each against its peer where one is installed
(pytorch-metric-learning's ``ThresholdConsistentMarginLoss`` for ``tcm``; the script checks that
the two values agree). How each gets its inputs: ``swav`` the stacked views (3000 prototypes, no
freezing); ``moco_hard_mixing`` queries ``z1``, keys ``z2`` and a fixed queue of ``QUEUE`` keys
(MoCHi (1024, 1024, 128), one block like ``nt_xent``); ``isogclr`` both views with
``index = arange(N)`` (the state update included); ``conr`` the stacked views with ages
``U{0..99}`` and predictions ``age + N(0, 5^2)``; ``supremix`` the stacked views with ages
``U{0..99}`` (its anchor-exclusive triples are ``(2N)^3``: skipped above ``--supremix-max``
samples); ``tcm`` and its peer ``z1`` with labels
``arange(N) % --classes``. PML's TCM gathers one ``D``-vector per pair (``N^2 D`` floats, twice);
the script skips it where that exceeds ``--pml-gib`` (default 4 GiB) rather than exhaust a
shared machine.

``--loss sup_con``: SupCon's L_out (Khosla et al. 2020, Eq. 2) on N samples x 2 views with labels
``arange(N) % --classes``; PML's ``SupConLoss`` gets the 2N views flattened with repeated labels
(the test suite checks the two agree), ``textbook`` is the dense form of the authors' reference
code (a 2N x 2N label-mask matrix, log-softmax with the diagonal removed, mean over positives).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import statistics
import time

import torch

ZOO = ["nt_xent", "swav", "moco_hard_mixing", "isogclr", "conr", "supremix", "tcm", "tcm (pml)"]
ZOO_PEERS = {"tcm": "tcm (pml)"}
QUEUE = 16384


def _make_zoo(impl: str, n: int, classes: int = 100, queue_size: int = QUEUE):
    """One zoo loss as ``fn(z1, z2)`` (see the module docstring for the inputs it derives)."""
    g = torch.Generator().manual_seed(n)
    if impl == "nt_xent":
        from concord.losses import NTXent

        return NTXent(temperature=0.5)
    if impl == "swav":
        from concord.losses.swav import SwAV

        swav = SwAV(dim=128, n_prototypes=3000, freeze_prototypes_iters=0)
        return lambda z1, z2: swav(torch.stack([z1, z2], dim=1))
    if impl == "moco_hard_mixing":
        from concord.losses.moco_hard_mixing import MoCHi

        queue = torch.nn.functional.normalize(torch.randn(queue_size, 128, generator=g), dim=1)
        mochi = MoCHi()
        return lambda z1, z2: mochi(z1, z2, negatives=queue.to(z1.device),
                                    generator=torch.Generator().manual_seed(0))
    if impl == "isogclr":
        from concord.losses.isogclr import ISogCLR

        iso = ISogCLR(n_samples=n)
        index = torch.arange(n)
        return lambda z1, z2: iso.to(z1.device)(z1, z2, index.to(z1.device))
    if impl == "conr":
        from concord.losses.conr import ConR

        age = torch.randint(0, 100, (n,), generator=g).float()
        pred = age + 5 * torch.randn(n, generator=g)
        conr = ConR()
        return lambda z1, z2: conr(torch.stack([z1, z2], dim=1), age.to(z1.device), pred.to(z1.device))
    if impl == "supremix":
        from concord.losses.supremix import SupReMix

        age = torch.randint(0, 100, (n,), generator=g).float()
        remix = SupReMix()
        return lambda z1, z2: remix(torch.stack([z1, z2], dim=1), age.to(z1.device),
                                    generator=torch.Generator().manual_seed(0))
    labels = torch.arange(n) % classes
    if impl == "tcm":
        from concord.losses.tcm import TCM

        tcm = TCM()
        return lambda z1, z2: tcm(z1, labels.to(z1.device))
    if impl == "tcm (pml)":
        from pytorch_metric_learning.losses import ThresholdConsistentMarginLoss

        pml = ThresholdConsistentMarginLoss()
        return lambda z1, z2: pml(z1, labels.to(z1.device))
    raise ValueError(f"unknown zoo implementation {impl!r}")


def _make(impl: str, n: int, temperature: float, loss: str = "nt_xent", classes: int = 100):
    if loss == "zoo":
        return _make_zoo(impl, n, classes)
    block = 256 if impl == "concord (block=256)" else None
    if loss == "sup_con":
        labels = torch.arange(n) % classes
        if impl == "pml":
            from pytorch_metric_learning.losses import SupConLoss

            pml = SupConLoss(temperature=temperature)
            both = torch.cat([labels, labels])
            return lambda z1, z2: pml(torch.cat([z1, z2]), both.to(z1.device))
        if impl == "textbook":
            return lambda z1, z2: _textbook_sup_con(z1, z2, labels.to(z1.device), temperature)
        from concord.losses import SupCon

        sup_con = SupCon(temperature=temperature, block_size=block)
        return lambda z1, z2: sup_con(torch.stack([z1, z2], dim=1), labels.to(z1.device))
    if impl == "pml":
        from pytorch_metric_learning.losses import NTXentLoss

        pml = NTXentLoss(temperature=temperature)
        labels = torch.cat([torch.arange(n), torch.arange(n)])
        return lambda z1, z2: pml(torch.cat([z1, z2]), labels.to(z1.device))
    if impl == "textbook":
        return lambda z1, z2: _textbook_nt_xent(z1, z2, temperature)
    from concord.losses import NTXent

    return NTXent(temperature=temperature, block_size=block)


def _textbook_sup_con(z1, z2, labels, temperature: float):
    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    y = torch.cat([labels, labels])
    eye = torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
    positive = (y[:, None] == y[None, :]) & ~eye
    logits = (z @ z.T / temperature).masked_fill(eye, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    mean_pos = log_prob.masked_fill(~positive, 0.0).sum(1) / positive.sum(1)
    return -mean_pos.mean()


def _textbook_nt_xent(z1, z2, temperature: float):
    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    logits = z @ z.T / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return torch.nn.functional.cross_entropy(logits, target)


def _inputs(n: int, d: int, device: str, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(n, d, generator=g).to(device).requires_grad_(True)
    z2 = torch.randn(n, d, generator=g).to(device).requires_grad_(True)
    return z1, z2


def _step(fn, z1, z2) -> float:
    z1.grad = z2.grad = None
    loss = fn(z1, z2)
    loss.backward()
    return float(loss.detach())


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _median_ms(fns, impls, z1, z2, repeats: int, device: str) -> dict[str, float]:
    """Median forward+backward time (ms) of each implementation, run alternately."""
    times = {impl: [] for impl in impls}
    for _ in range(repeats):
        for impl in impls:
            _sync(device)
            t0 = time.perf_counter()
            _step(fns[impl], z1, z2)
            _sync(device)
            times[impl].append(time.perf_counter() - t0)
    return {impl: statistics.median(ts) * 1000 for impl, ts in times.items()}


def _high_water_kib() -> int:
    """Peak resident set of this address space (VmHWM). Unlike ru_maxrss it is not inherited
    from the parent across fork/exec, so a child measures only itself."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # pragma: no cover (non-Linux)


def _peak_child(impl: str, n: int, d: int, loss: str, classes: int, queue) -> None:
    torch.set_num_threads(1)
    # A small step first (2 x 160 rows: enough for the blocked variant to checkpoint), so that
    # one-off costs (imports on first use, allocator set-up) are not counted as the loss's memory;
    # then the high-water mark is reset to the current resident set (Linux: clear_refs 5).
    _step(_make(impl, 160, 0.5, loss, classes), *_inputs(160, d, "cpu"))
    z1, z2 = _inputs(n, d, "cpu")
    fn = _make(impl, n, 0.5, loss, classes)
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:  # pragma: no cover (non-Linux): the warm-up's peak stays in the baseline
        pass
    base = _high_water_kib()
    try:
        _step(fn, z1, z2)
    except (RuntimeError, MemoryError):
        queue.put(float("nan"))
        return
    queue.put((_high_water_kib() - base) / 1024)


def peak_memory_mib(impl: str, n: int, d: int, device: str, loss: str = "nt_xent", classes: int = 100) -> float:
    if device == "cuda":
        z1, z2 = _inputs(n, d, device)
        fn = _make(impl, n, 0.5, loss, classes)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        _step(fn, z1, z2)
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_peak_child, args=(impl, n, d, loss, classes, queue))
    proc.start()
    value = queue.get(timeout=600)
    proc.join()
    return float(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loss", choices=["nt_xent", "sup_con", "zoo"], default="nt_xent")
    parser.add_argument("--classes", type=int, default=100, help="sup_con: labels are arange(N) %% classes")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024, 4096])
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", action="store_true", help="also print one JSON line per size")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--impls", nargs="+", default=None,
                        help="zoo: only these implementations (nt_xent, the yardstick, always runs)")
    parser.add_argument("--supremix-max", type=int, default=1024,
                        help="zoo: skip supremix above this N (its (2N)^3 triples)")
    parser.add_argument("--pml-gib", type=float, default=4.0,
                        help="zoo: skip PML's TCM where its per-pair gathers exceed this")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.loss == "zoo":
        return _main_zoo(args)

    impls = ["concord", "concord (block=256)", "textbook", "pml"]
    print(
        f"loss={args.loss} device={args.device} threads={torch.get_num_threads()} D={args.dim}"
        f" torch={torch.__version__}" + (f" classes={args.classes}" if args.loss == "sup_con" else "")
    )
    print(
        f"{'N':>6} {'impl':<20} {'fwd+bwd ms':>11} {'peak MiB':>9} {'time / PML':>11} {'mem / PML':>10}"
        f" {'time / textbook':>16} {'mem / textbook':>15}"
    )
    for n in args.sizes:
        z1, z2 = _inputs(n, args.dim, args.device)
        fns = {impl: _make(impl, n, 0.5, args.loss, args.classes) for impl in impls}
        values, failed = {}, {}
        for impl, fn in fns.items():  # warm-up, and a cross-check of the values
            try:
                values[impl] = _step(fn, z1, z2)
            except (RuntimeError, MemoryError) as exc:  # PML's O(N^3) pair matrix at large N
                failed[impl] = str(exc).split("\n")[0][:160]
        ref = "pml" if "pml" in values else "textbook"
        for impl in values:
            if abs(values[impl] - values[ref]) > 1e-4 * max(1.0, abs(values[ref])):
                raise SystemExit(
                    f"{impl} and {ref} disagree at N={n}: {values[impl]} vs {values[ref]}"
                )
        ok = [impl for impl in impls if impl not in failed]
        med = _median_ms(fns, ok, z1, z2, args.repeats, args.device)
        mem = {impl: peak_memory_mib(impl, n, args.dim, args.device, args.loss, args.classes) for impl in ok}

        def ratio(table, impl, ref):
            if ref not in table or not table[ref] > 0:
                return "-"
            return f"{table[impl] / table[ref]:.4f}"

        for impl in impls:
            if impl in failed:
                print(
                    f"{n:>6} {impl:<20} {'failed':>11} {'-':>9} {'-':>11} {'-':>10}  {failed[impl]}"
                )
                continue
            print(
                f"{n:>6} {impl:<20} {med[impl]:>11.2f} {mem[impl]:>9.1f} {ratio(med, impl, 'pml'):>11}"
                f" {ratio(mem, impl, 'pml'):>10} {ratio(med, impl, 'textbook'):>16} {ratio(mem, impl, 'textbook'):>15}"
            )
        if args.json:
            print(json.dumps({"loss": args.loss, "N": n, "D": args.dim, "ms": med, "peak_mib": mem, "failed": failed}))


def _main_zoo(args) -> None:
    print(f"loss=zoo device={args.device} threads={torch.get_num_threads()} D={args.dim}"
          f" torch={torch.__version__} classes={args.classes} queue={QUEUE}")
    print(f"{'N':>6} {'impl':<18} {'fwd+bwd ms':>11} {'peak MiB':>9} {'time / nt_xent':>15}"
          f" {'mem / nt_xent':>14} {'time / peer':>12} {'mem / peer':>11}")
    for n in args.sizes:
        z1, z2 = _inputs(n, args.dim, args.device)
        fns, values, failed = {}, {}, {}
        pair_gib = 2 * n * n * args.dim * 4 / 2**30
        chosen = [i for i in ZOO if args.impls is None or i in args.impls or i == "nt_xent"]
        for impl in ZOO:
            if impl not in chosen:
                failed[impl] = "not selected"
                continue
            if impl == "supremix" and n > args.supremix_max:
                failed[impl] = f"skipped: (2N)^3 = {(2 * n) ** 3:.1e} triples (--supremix-max {args.supremix_max})"
                continue
            if impl == "tcm (pml)" and pair_gib > args.pml_gib:
                failed[impl] = f"skipped: its per-pair gathers need {pair_gib:.0f} GiB"
                continue
            try:
                fns[impl] = _make_zoo(impl, n, args.classes)
                values[impl] = _step(fns[impl], z1, z2)
            except (RuntimeError, MemoryError) as exc:
                failed[impl] = str(exc).split("\n")[0][:120]
        for ours, peer in ZOO_PEERS.items():
            if ours in values and peer in values:
                if abs(values[ours] - values[peer]) > 1e-4 * max(1.0, abs(values[peer])):
                    raise SystemExit(f"{ours} and {peer} disagree at N={n}: {values[ours]} vs {values[peer]}")
        ok = [impl for impl in ZOO if impl not in failed]
        med = _median_ms(fns, ok, z1, z2, args.repeats, args.device)
        mem = {impl: peak_memory_mib(impl, n, args.dim, args.device, "zoo", args.classes) for impl in ok}

        def ratio(table, impl, ref):
            if ref is None or ref not in table or not table[ref] > 0:
                return "-"
            return f"{table[impl] / table[ref]:.3f}"

        for impl in ZOO:
            if failed.get(impl) == "not selected":
                continue
            if impl in failed:
                print(f"{n:>6} {impl:<18} {'failed':>11} {'-':>9}  {failed[impl]}")
                continue
            peer = ZOO_PEERS.get(impl)
            print(f"{n:>6} {impl:<18} {med[impl]:>11.1f} {mem[impl]:>9.1f} {ratio(med, impl, 'nt_xent'):>15}"
                  f" {ratio(mem, impl, 'nt_xent'):>14} {ratio(med, impl, peer):>12} {ratio(mem, impl, peer):>11}")
        if args.json:
            print(json.dumps({"loss": "zoo", "N": n, "D": args.dim, "ms": med, "peak_mib": mem, "failed": failed}))


if __name__ == "__main__":
    main()
