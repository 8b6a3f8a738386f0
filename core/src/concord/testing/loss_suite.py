"""The loss contract suite: the same checks for every registered loss.

finite scalar; gradients reach the inputs; seeded determinism (and, for a loss that declares
itself stochastic, different seeds give different values); declared invariances (permutation,
scale); declared half precision against a float64 reference; declared bad inputs and NaN inputs
raise ``ValueError``; a keyword-only constructor whose ``config()`` is JSON and rebuilds the loss.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from concord.contract import seeded
from concord.testing.declarations import config_round_trip, declared_examples, keyword_only
from concord.testing.refusals import check_refused, expect_value_error
from concord.testing.report import Check, SuiteReport, run_checks

__all__ = ["HALF_PRECISION_TOLERANCE", "LOSS_CHECKS", "check_loss"]

#: Largest accepted ``|loss(half inputs) - loss(float64 inputs)| / max(1, |loss(float64)|)``:
#: ``4u``, with ``u`` the format's unit roundoff (2^-8 for bf16, 2^-11 for fp16), the relative
#: error of rounding one input. The built-in and plugin losses measure at most ``0.4u`` on their
#: examples (rounding errors of many inputs average out in a mean), so the bound leaves a factor
#: 10; a loss that computes in the half format itself (sums, exp, softmax statistics) or that
#: cancels nearly equal inputs misses it by an order of magnitude or more
#: (``core/tests/testing/test_loss_suite.py`` shows both failing).
HALF_PRECISION_TOLERANCE: dict[str, float] = {"bf16": 4 * 2.0**-8, "fp16": 4 * 2.0**-11}
_HALF = {"bf16": torch.bfloat16, "fp16": torch.float16}


def _float_idx(args: tuple[Any, ...]) -> list[int]:
    return [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.is_floating_point()]


def _call(
    cls: type, ex: Any, args: tuple[Any, ...] | None = None, kwargs: dict[str, Any] | None = None,
    *, seed: int = 0,
) -> Tensor:
    """Build the loss under ``torch.manual_seed(0)`` (its parameters' initialisation), then
    call it under ``torch.manual_seed(seed)`` (whatever randomness its forward draws)."""
    torch.manual_seed(0)
    loss = cls(**ex.init)
    torch.manual_seed(seed)
    return loss(*(ex.args if args is None else args), **(ex.kwargs if kwargs is None else kwargs))


def loss_finite_scalar(cls: type) -> str | None:
    for ex in declared_examples(cls):
        out = _call(cls, ex)
        assert isinstance(out, Tensor), f"{cls.__name__} returned {type(out).__name__}"
        assert out.dim() == 0, f"{cls.__name__} returned shape {tuple(out.shape)}, not a scalar"
        assert out.is_floating_point() and bool(torch.isfinite(out)), f"non-finite loss {out}"
    return None


def loss_gradients(cls: type) -> str | None:
    for ex in declared_examples(cls):
        idx = list(ex.grad_args) if ex.grad_args is not None else _float_idx(ex.args)
        args = list(ex.args)
        for i in _float_idx(ex.args):
            args[i] = args[i].detach().clone().requires_grad_(i in idx)
        torch.manual_seed(0)
        loss = cls(**ex.init)
        out = loss(*args, **ex.kwargs)
        out.backward()
        for i in idx:
            g = args[i].grad
            assert g is not None, f"{cls.__name__}: no gradient reached argument {i}"
            assert bool(torch.isfinite(g).all()), f"{cls.__name__}: non-finite gradient in arg {i}"
            assert bool((g != 0).any()), f"{cls.__name__}: zero gradient for argument {i}"
        for name, p in loss.named_parameters():
            assert p.grad is not None and bool(torch.isfinite(p.grad).all()), (
                f"{cls.__name__}: parameter {name} got no finite gradient"
            )
    return None


def loss_determinism(cls: type) -> str | None:
    """Same seed, same value, on fresh instances. Different seeds: a loss that declares
    ``stochastic = True`` must change on some example (else its randomness is not drawn from
    the seeded generators); any other loss must not change (it draws randomness it does not
    declare)."""
    stochastic = bool(getattr(cls, "stochastic", False))
    varies = False
    for ex in declared_examples(cls):
        first = _call(cls, ex, seed=0)
        assert torch.equal(first, _call(cls, ex, seed=0)), f"{cls.__name__}: same seed, different loss"
        others = [_call(cls, ex, seed=s) for s in (1, 2, 3)]
        changed = any(not torch.equal(first, o) for o in others)
        if changed and not stochastic:
            raise AssertionError(
                f"{cls.__name__}: the loss changes with the global random seed but does not declare "
                "stochastic = True"
            )
        varies = varies or changed
    if stochastic:
        assert varies, f"{cls.__name__} declares stochastic = True but no seed changes its value"
    return None


def loss_invariances(cls: type) -> str | None:
    if not getattr(cls, "invariances", ()):
        return "declares no invariances"
    for ex in declared_examples(cls):
        base = _call(cls, ex)
        tensors = [i for i, a in enumerate(ex.args) if isinstance(a, Tensor)]
        if "permutation" in cls.invariances:
            batch = list(ex.batch_args) if ex.batch_args is not None else tensors
            n = ex.args[batch[0]].shape[0]
            perm = torch.randperm(n, generator=seeded(1))
            args = tuple(a[perm] if i in batch else a for i, a in enumerate(ex.args))
            kwargs = {k: v[perm] if k in ex.batch_kwargs else v for k, v in ex.kwargs.items()}
            torch.testing.assert_close(_call(cls, ex, args, kwargs), base, rtol=1e-5, atol=1e-6,
                                       msg=f"{cls.__name__} is not permutation invariant")
        if "scale" in cls.invariances:
            idx = list(ex.scale_args) if ex.scale_args is not None else _float_idx(ex.args)
            args = list(ex.args)
            g = seeded(2)
            for i in idx:
                a = args[i]
                args[i] = a * (0.5 + 1.5 * torch.rand((a.shape[0],) + (1,) * (a.dim() - 1), generator=g))
            torch.testing.assert_close(_call(cls, ex, tuple(args)), base, rtol=1e-5, atol=1e-5,
                                       msg=f"{cls.__name__} is not scale invariant")
    return None


def loss_half_precision(cls: type) -> str | None:
    """Each declared half format: the loss of the rounded inputs is finite and within
    :data:`HALF_PRECISION_TOLERANCE` of the loss of the exact inputs in float64. The module
    keeps its float32 parameters for that reference (a loss that casts its inputs to float32
    computes it in float32, whose rounding, ~1e-7, is negligible next to the tolerance)."""
    if not getattr(cls, "half_precision", ()):
        return "declares no half precision"
    for name in cls.half_precision:
        tol = HALF_PRECISION_TOLERANCE[name]
        for ex in declared_examples(cls):
            floats = _float_idx(ex.args)
            half = tuple(a.to(_HALF[name]) if i in floats else a for i, a in enumerate(ex.args))
            exact = tuple(a.double() if i in floats else a for i, a in enumerate(ex.args))
            out = _call(cls, ex, half)
            ref = _call(cls, ex, exact)
            assert bool(torch.isfinite(out)), f"{cls.__name__}: non-finite loss in {name}"
            out, ref = float(out.detach()), float(ref.detach())
            err = abs(out - ref) / max(1.0, abs(ref))
            assert err <= tol, (
                f"{cls.__name__} in {name}: {out:.6g} vs float64 {ref:.6g} "
                f"(error {err:.3g} > {tol:.3g})"
            )
    return None


def loss_bad_inputs(cls: type) -> str | None:
    bads = cls.bad_inputs(seeded(0))
    if not bads:
        return "declares no bad inputs (the NaN check still runs)"
    for bad in bads:
        check_refused(cls, bad, lambda obj, b: obj(*b.args, **b.kwargs))
    return None


def loss_nan_input(cls: type) -> str | None:
    for ex in declared_examples(cls):
        for i in _float_idx(ex.args):
            args = list(ex.args)
            bad = args[i].detach().clone()
            bad.view(-1)[0] = float("nan")
            args[i] = bad
            expect_value_error(
                lambda args=args, ex=ex: _call(cls, ex, tuple(args)), r"NaN|non-finite",
                f"{cls.__name__} with NaN in argument {i}",
            )
    return None


LOSS_CHECKS: list[Check] = [
    keyword_only, loss_finite_scalar, loss_gradients, loss_determinism, loss_invariances,
    loss_half_precision, loss_bad_inputs, loss_nan_input, config_round_trip,
]


def check_loss(cls: type) -> SuiteReport:
    """Run every loss check on ``cls`` (for a third-party loss's own test suite); returns which
    checks ran and which did not apply. ``print(check_loss(MyLoss))`` shows both."""
    return run_checks(cls, LOSS_CHECKS)
