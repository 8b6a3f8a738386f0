"""subclass_balanced: the authors' subclass counts, clusters recovered on separated data, and
SupCon with this sampler against the authors' SupConLoss_ccl written out."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from concord.losses import SupCon
from concord.samplers.subclass_balanced import SubclassBalancedSampler, subclass_counts


def test_subclass_counts_follow_the_authors_rule():
    """n_c // max(min n_c, M), at least 1."""
    sizes = torch.tensor([100, 50, 10, 3])
    assert subclass_counts(sizes, 10).tolist() == [10, 5, 1, 1]
    assert subclass_counts(torch.tensor([40, 20, 20]), 5).tolist() == [2, 1, 1]


def _two_group_head(seed=0, views=2):
    """Class 0: 8 samples in two tight groups; classes 1 and 2: 4 samples each."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]])
    which = torch.tensor([0] * 4 + [1] * 4 + [2] * 4 + [3] * 4)
    labels = torch.tensor([0] * 8 + [1] * 4 + [2] * 4)
    feats = centres[which][:, None, :] + 0.05 * torch.randn(16, views, 4, generator=g)
    subclass = torch.tensor([0] * 4 + [1] * 4 + [2] * 4 + [3] * 4)  # ground truth
    return feats.double(), labels, subclass


def test_clusters_recovered_within_the_head_class():
    """Catches: clustering across classes, views of one sample split across subclasses, the
    tail classes split although they are at the minimum size."""
    feats, labels, truth = _two_group_head()
    keys = feats.transpose(0, 1).reshape(32, 4)  # view-major, as SupCon binds
    ids = torch.arange(16).repeat(2)
    sub = SubclassBalancedSampler(subclass_size=4).subclasses(keys, labels.repeat(2), ids)
    for a in range(32):
        for b in range(32):
            assert bool(sub[a] == sub[b]) == bool(truth.repeat(2)[a] == truth.repeat(2)[b]), (a, b)


def sbcl_reference(features, labels, cluster_target, temperature, base_temperature, gamma):
    """The authors' SupConLoss_ccl: log-probabilities over all other views; the subclass mean
    times tau / tau_base plus gamma times the class mean."""
    n, v, _ = features.shape
    z = F.normalize(features, dim=-1).transpose(0, 1).reshape(n * v, -1)
    logits = z @ z.T / temperature
    self_mask = torch.eye(n * v, dtype=torch.bool)
    log_prob = logits - torch.logsumexp(logits.masked_fill(self_mask, float("-inf")), dim=1, keepdim=True)
    y, c = labels.repeat(v), cluster_target.repeat(v)
    cls_mask = (y[:, None] == y[None, :]) & ~self_mask
    sub_mask = (c[:, None] == c[None, :]) & ~self_mask
    mean_cls = (log_prob * cls_mask).sum(1) / cls_mask.sum(1)
    mean_sub = (log_prob * sub_mask).sum(1) / sub_mask.sum(1)
    return (-(temperature / base_temperature) * mean_sub - gamma * mean_cls).mean()


def test_sup_con_with_this_sampler_is_the_authors_bi_granularity_loss():
    """Up to the constant a + gamma. Catches: weights not normalised per row by the subclass and
    class counts, subclass positives counted once instead of in both terms, the anchor's other
    view left out of its subclass."""
    feats, labels, truth = _two_group_head(1)
    tau, tau_base, gamma = 0.1, 0.07, 0.25
    a = tau / tau_base
    sampler = {"name": "subclass_balanced", "subclass_size": 4, "subclass_weight": a, "class_weight": gamma}
    f1 = feats.clone().requires_grad_(True)
    ours = SupCon(temperature=tau, sampler=sampler)(f1, labels) * (a + gamma)
    ours.backward()
    f2 = feats.clone().requires_grad_(True)
    ref = sbcl_reference(f2, labels, truth, tau, tau_base, gamma)
    ref.backward()
    torch.testing.assert_close(ours, ref, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(f1.grad, f2.grad, atol=1e-10, rtol=1e-8)


def test_a_query_without_its_own_key_takes_its_nearest_same_class_key_subclass():
    feats, labels, _ = _two_group_head(2, views=1)
    keys = feats[:, 0]
    query = keys[[0, 5]] + 0.01  # no id in common with the keys
    pairs = SubclassBalancedSampler(subclass_size=4).bind(
        query, keys, query_ids=torch.tensor([-1, -1]), query_labels=labels[[0, 5]], key_labels=labels)
    key_sub, query_sub, _, _ = pairs.state
    assert query_sub[0] == key_sub[0] and query_sub[1] == key_sub[5] and query_sub[0] != query_sub[1]


@pytest.mark.parametrize("bad", [{"subclass_size": 0}, {"iterations": 0}])
def test_constructor_rejects(bad):
    with pytest.raises(ValueError):
        SubclassBalancedSampler(**bad)


def _gather_worker(rank, world, feats, labels, sizes):
    from concord.losses import SupCon

    rows = slice(sum(sizes[:rank]), sum(sizes[: rank + 1]))
    f = feats[rows].clone().requires_grad_(True)
    loss = SupCon(temperature=0.1, gather=True, sampler={"name": "subclass_balanced", "subclass_size": 4})(
        f, labels[rows])
    loss.backward()
    return {"loss": loss.detach(), "grad": f.grad}


@pytest.mark.distributed
def test_gather_clusters_the_global_batch_on_every_rank():
    """Every rank binds the gathered keys, so every rank finds the same subclasses: loss and
    gradients equal one process's (clustering only local keys would split the head class
    differently on each rank)."""
    from concord.testing import run_distributed

    feats, labels, _ = _two_group_head(3)
    perm = torch.randperm(16, generator=torch.Generator().manual_seed(0))  # mix classes over ranks
    feats, labels = feats[perm], labels[perm]
    sizes = [7, 9]
    f = feats.clone().requires_grad_(True)
    loss = SupCon(temperature=0.1, sampler={"name": "subclass_balanced", "subclass_size": 4})(f, labels)
    loss.backward()
    for rank, r in enumerate(run_distributed(_gather_worker, 2, feats, labels, sizes)):
        rows = slice(sum(sizes[:rank]), sum(sizes[: rank + 1]))
        torch.testing.assert_close(r["loss"], loss.detach(), atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(r["grad"], f.grad[rows], atol=1e-10, rtol=1e-8)
