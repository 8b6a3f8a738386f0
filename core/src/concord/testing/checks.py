"""The contract suite: the same checks for every registered loss, sampler and augmentation.

Each check takes the component class and raises ``AssertionError`` (or the component's own
error) when the contract is broken. :func:`checks_for` lists the checks that apply to a group, so
a test file can parametrise over ``(component, check)`` pairs::

    @pytest.mark.parametrize("cls, check", cases)
    def test_contract(cls, check):
        check(cls)

What is checked (DESIGN.md, "Interfaces"):

losses
    finite scalar; gradients reach the inputs; seeded determinism; declared invariances
    (permutation, scale); declared half-precision stability; declared bad inputs raise
    ``ValueError``; NaN inputs raise ``ValueError``; ``config()`` is JSON and rebuilds the loss.
samplers
    disjoint boolean masks of the right shape; tiles agree with the dense answer; seeded
    determinism; declared bad inputs; config round trip.
augmentations
    input never mutated; same seed, same output; different seeds, different outputs (when the
    example is random); the example's own promise (``check``); bad inputs; config round trip.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from concord.contract import BadInput, seeded

__all__ = [
    "assert_same",
    "check_augmentation",
    "check_loss",
    "check_sampler",
    "checks_for",
    "snapshot",
]

Check = Callable[[type], None]


# -- generic helpers ----------------------------------------------------------------------
def snapshot(obj: Any) -> Any:
    """A deep, comparable copy of tensors, mappings, sequences and framework objects with
    ``to_dict()`` (PyG ``Data`` / ``HeteroData``)."""
    if isinstance(obj, Tensor):
        return obj.detach().clone()
    if hasattr(obj, "to_dict") and callable(obj.to_dict) and not isinstance(obj, Mapping):
        try:
            return (type(obj).__name__, snapshot(obj.to_dict()))
        except TypeError:
            pass
    if isinstance(obj, Mapping):
        return {k: snapshot(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(snapshot(v) for v in obj)
    return copy.deepcopy(obj)


def assert_same(a: Any, b: Any, where: str = "value") -> None:
    """Structural equality of two :func:`snapshot` results (tensors: same shape, dtype, values)."""
    a, b = snapshot(a), snapshot(b)
    _assert_same(a, b, where)


def _assert_same(a: Any, b: Any, where: str) -> None:
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        assert isinstance(a, Tensor) and isinstance(b, Tensor), f"{where}: tensor vs non-tensor"
        assert a.shape == b.shape, f"{where}: shape {tuple(a.shape)} != {tuple(b.shape)}"
        assert a.dtype == b.dtype, f"{where}: dtype {a.dtype} != {b.dtype}"
        assert torch.equal(a, b) or (
            a.is_floating_point() and torch.allclose(a, b, rtol=0, atol=0, equal_nan=True)
        ), f"{where}: values differ"
        return
    if isinstance(a, Mapping):
        assert isinstance(b, Mapping), f"{where}: mapping vs {type(b).__name__}"
        assert set(a) == set(b), f"{where}: keys {sorted(map(str, a))} != {sorted(map(str, b))}"
        for k in a:
            _assert_same(a[k], b[k], f"{where}[{k!r}]")
        return
    if isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
        return
    try:
        import numpy as np

        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            assert np.array_equal(a, b), f"{where}: arrays differ"
            return
    except ImportError:  # pragma: no cover
        pass
    assert a == b, f"{where}: {a!r} != {b!r}"


def differs(a: Any, b: Any) -> bool:
    """True when :func:`assert_same` would fail."""
    try:
        assert_same(a, b)
    except AssertionError:
        return True
    return False


def _expect_value_error(fn: Callable[[], Any], match: str, what: str) -> None:
    try:
        fn()
    except ValueError as exc:
        assert re.search(match, str(exc)), (
            f"{what}: ValueError message {str(exc)!r} does not match {match!r}"
        )
        return
    except Exception as exc:  # wrong type of error
        raise AssertionError(f"{what}: expected ValueError, got {type(exc).__name__}: {exc}") from exc
    raise AssertionError(f"{what}: expected ValueError matching {match!r}, nothing was raised")


def _config_round_trip(obj: Any) -> None:
    cfg = obj.config()
    text = json.dumps(cfg)
    rebuilt = type(obj)(**json.loads(text))
    assert rebuilt.config() == cfg, f"config round trip changed {cfg} -> {rebuilt.config()}"
    assert type(obj).__name__ in repr(obj)


# -- losses --------------------------------------------------------------------------------
def _examples(cls: type) -> list[Any]:
    examples = cls.examples(seeded(0))
    assert examples, f"{cls.__name__} declares no examples"
    return examples


def _call_loss(
    cls: type, ex: Any, args: tuple[Any, ...] | None = None, kwargs: dict[str, Any] | None = None
) -> Tensor:
    torch.manual_seed(0)
    loss = cls(**ex.init)
    return loss(*(ex.args if args is None else args), **(ex.kwargs if kwargs is None else kwargs))


def _float_idx(args: tuple[Any, ...]) -> list[int]:
    return [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.is_floating_point()]


def loss_finite_scalar(cls: type) -> None:
    for ex in _examples(cls):
        out = _call_loss(cls, ex)
        assert isinstance(out, Tensor), f"{cls.__name__} returned {type(out).__name__}"
        assert out.dim() == 0, f"{cls.__name__} returned shape {tuple(out.shape)}, not a scalar"
        assert out.is_floating_point() and bool(torch.isfinite(out)), f"non-finite loss {out}"


def loss_gradients(cls: type) -> None:
    for ex in _examples(cls):
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


def loss_determinism(cls: type) -> None:
    a, b = cls.examples(seeded(0)), cls.examples(seeded(0))
    for ea, eb in zip(a, b):
        assert_same(ea.args, eb.args, "examples built from one seed")
        assert torch.equal(_call_loss(cls, ea), _call_loss(cls, eb)), "same input, different loss"


def loss_invariances(cls: type) -> None:
    for ex in _examples(cls):
        base = _call_loss(cls, ex)
        tensors = [i for i, a in enumerate(ex.args) if isinstance(a, Tensor)]
        if "permutation" in cls.invariances:
            batch = list(ex.batch_args) if ex.batch_args is not None else tensors
            n = ex.args[batch[0]].shape[0]
            perm = torch.randperm(n, generator=seeded(1))
            args = tuple(a[perm] if i in batch else a for i, a in enumerate(ex.args))
            kwargs = {k: v[perm] if k in ex.batch_kwargs else v for k, v in ex.kwargs.items()}
            out = _call_loss(cls, ex, args, kwargs)
            torch.testing.assert_close(out, base, rtol=1e-5, atol=1e-6,
                                       msg=f"{cls.__name__} is not permutation invariant")
        if "scale" in cls.invariances:
            idx = list(ex.scale_args) if ex.scale_args is not None else _float_idx(ex.args)
            args = list(ex.args)
            g = seeded(2)
            for i in idx:
                a = args[i]
                factor = 0.5 + 1.5 * torch.rand((a.shape[0],) + (1,) * (a.dim() - 1), generator=g)
                args[i] = a * factor
            out = _call_loss(cls, ex, tuple(args))
            torch.testing.assert_close(out, base, rtol=1e-5, atol=1e-5,
                                       msg=f"{cls.__name__} is not scale invariant")


def loss_half_precision(cls: type) -> None:
    for dtype_name in cls.half_precision:
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[dtype_name]
        for ex in _examples(cls):
            half = tuple(a.to(dtype) if i in _float_idx(ex.args) else a for i, a in enumerate(ex.args))
            ref_args = tuple(a.float() if i in _float_idx(ex.args) else a for i, a in enumerate(half))
            out = _call_loss(cls, ex, half)
            ref = _call_loss(cls, ex, ref_args)
            assert bool(torch.isfinite(out)), f"{cls.__name__}: non-finite loss in {dtype_name}"
            torch.testing.assert_close(out.float(), ref.float(), rtol=2e-2, atol=1e-3,
                                       msg=f"{cls.__name__} unstable in {dtype_name}")


def loss_bad_inputs(cls: type) -> None:
    for bad in cls.bad_inputs(seeded(0)):
        _check_bad(cls, bad, lambda obj, b: obj(*b.args, **b.kwargs))


def _check_bad(cls: type, bad: BadInput, call: Callable[[Any, BadInput], Any]) -> None:
    what = f"{cls.__name__}({bad.init}) {bad.why}".strip()
    if bad.args is None:
        _expect_value_error(lambda: cls(**bad.init), bad.match, what)
    else:
        obj = cls(**bad.init)
        _expect_value_error(lambda: call(obj, bad), bad.match, what)


def loss_nan_input(cls: type) -> None:
    for ex in _examples(cls):
        for i in _float_idx(ex.args):
            args = list(ex.args)
            bad = args[i].detach().clone()
            bad.view(-1)[0] = float("nan")
            args[i] = bad
            _expect_value_error(
                lambda args=args, ex=ex: _call_loss(cls, ex, tuple(args)), r"NaN|non-finite",
                f"{cls.__name__} with NaN in argument {i}",
            )


def loss_config(cls: type) -> None:
    for ex in _examples(cls):
        _config_round_trip(cls(**ex.init))


LOSS_CHECKS: list[Check] = [
    loss_finite_scalar, loss_gradients, loss_determinism, loss_invariances,
    loss_half_precision, loss_bad_inputs, loss_nan_input, loss_config,
]


# -- samplers ------------------------------------------------------------------------------
def sampler_masks(cls: type) -> None:
    for ex in _examples(cls):
        pairs = cls(**ex.init).bind(**ex.bind)
        n, m = pairs.shape
        t = pairs.dense()
        for name in ("positive", "negative"):
            mask = getattr(t, name)
            assert mask.dtype == torch.bool and mask.shape == (n, m), f"{name}: {mask.dtype} {tuple(mask.shape)}"
        assert not bool((t.positive & t.negative).any()), "a pair is both positive and negative"
        if t.weight is not None:
            assert t.weight.shape == (n, m) and bool(torch.isfinite(t.weight).all())
            assert bool((t.weight[t.positive] >= 0).all()), "negative weight on a positive pair"


def sampler_tiles(cls: type) -> None:
    for ex in _examples(cls):
        pairs = cls(**ex.init).bind(**ex.bind)
        n, m = pairs.shape
        dense = pairs.dense()
        for rows, cols in ((1, 1), (2, 3), (3, max(1, m // 2))):
            for i0 in range(0, n, rows):
                for j0 in range(0, m, cols):
                    i1, j1 = min(i0 + rows, n), min(j0 + cols, m)
                    t = pairs.tile(i0, i1, j0, j1)
                    assert torch.equal(t.positive, dense.positive[i0:i1, j0:j1]), "tile positives differ"
                    assert torch.equal(t.negative, dense.negative[i0:i1, j0:j1]), "tile negatives differ"
                    if dense.weight is not None:
                        assert t.weight is not None
                        torch.testing.assert_close(t.weight, dense.weight[i0:i1, j0:j1])


def sampler_determinism(cls: type) -> None:
    a, b = cls.examples(seeded(0)), cls.examples(seeded(0))
    for ea, eb in zip(a, b):
        ta, tb = cls(**ea.init).bind(**ea.bind).dense(), cls(**eb.init).bind(**eb.bind).dense()
        assert torch.equal(ta.positive, tb.positive) and torch.equal(ta.negative, tb.negative)


def sampler_bad_inputs(cls: type) -> None:
    bads = list(getattr(cls, "bad_inputs", lambda g: [])(seeded(0)))
    z = torch.randn(4, 3, generator=seeded(0))
    bads += [
        BadInput({}, (), "query must be 2-D|2-D", kwargs={"query": z[0], "key": z}),
        BadInput({}, (), "dimensions differ", kwargs={"query": z, "key": z[:, :2]}),
        BadInput({}, (), "NaN|non-finite", kwargs={"query": z * float("nan"), "key": z}),
        BadInput({}, (), "query_ids must be", kwargs={"query": z, "key": z, "query_ids": torch.arange(3)}),
    ]
    ex = _examples(cls)[0]
    for bad in bads:
        if bad.args is None:
            _check_bad(cls, bad, lambda obj, b: None)
        else:
            obj = cls(**ex.init) if not bad.init else cls(**bad.init)
            _expect_value_error(lambda obj=obj, bad=bad: obj.bind(**bad.kwargs), bad.match,
                                f"{cls.__name__}.bind {bad.why or bad.match}")


def sampler_config(cls: type) -> None:
    for ex in _examples(cls):
        _config_round_trip(cls(**ex.init))


SAMPLER_CHECKS: list[Check] = [
    sampler_masks, sampler_tiles, sampler_determinism, sampler_bad_inputs, sampler_config,
]


# -- augmentations -------------------------------------------------------------------------
def augmentation_no_mutation(cls: type) -> None:
    for ex in _examples(cls):
        before = snapshot(ex.input)
        cls(**ex.init)(ex.input, generator=seeded(0))
        assert_same(ex.input, before, f"{cls.__name__} input after augmentation")


def augmentation_determinism(cls: type) -> None:
    for ex in _examples(cls):
        aug = cls(**ex.init)
        a = aug(ex.input, generator=seeded(3))
        b = aug(ex.input, generator=seeded(3))
        assert type(a) is type(ex.input), f"{cls.__name__} returned {type(a).__name__}, not {type(ex.input).__name__}"
        assert_same(a, b, f"{cls.__name__} output with the same seed")
        if ex.random:
            outs = [aug(ex.input, generator=seeded(s)) for s in range(4, 9)]
            assert any(differs(a, o) for o in outs), f"{cls.__name__}: different seeds, same output"


def augmentation_promise(cls: type) -> None:
    for ex in _examples(cls):
        if ex.check is not None:
            ex.check(ex.input, cls(**ex.init)(ex.input, generator=seeded(5)))


def augmentation_bad_inputs(cls: type) -> None:
    for bad in cls.bad_inputs(seeded(0)):
        _check_bad(cls, bad, lambda obj, b: obj(*b.args, generator=seeded(0), **b.kwargs))


def augmentation_config(cls: type) -> None:
    for ex in _examples(cls):
        _config_round_trip(cls(**ex.init))


AUGMENTATION_CHECKS: list[Check] = [
    augmentation_no_mutation, augmentation_determinism, augmentation_promise,
    augmentation_bad_inputs, augmentation_config,
]


def checks_for(group: str) -> list[Check]:
    """The contract checks of a component group (``"losses"``, ``"samplers"``, ``"augmentations"``)."""
    group = group.removeprefix("concord.")
    table = {"losses": LOSS_CHECKS, "samplers": SAMPLER_CHECKS, "augmentations": AUGMENTATION_CHECKS}
    if group not in table:
        raise ValueError(f"no contract checks for group {group!r}; groups: {', '.join(table)}")
    return list(table[group])


def _run_all(cls: type, group: str) -> None:
    for check in checks_for(group):
        check(cls)


def check_loss(cls: type) -> None:
    """Run every loss check on ``cls`` (for a third-party loss's own test suite)."""
    _run_all(cls, "losses")


def check_sampler(cls: type) -> None:
    _run_all(cls, "samplers")


def check_augmentation(cls: type) -> None:
    _run_all(cls, "augmentations")
