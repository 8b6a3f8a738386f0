"""The POT paper's evaluation on Planetoid's public split, with its masks the right way round.

The POT authors (``VoidHaruhi/POT-GCL``, ``GRACE/eval.py`` ``log_regression``, lines 42-109)
train a logistic-regression layer (``nn.Linear``, Xavier init) on the frozen, *unnormalised*
embeddings with Adam (lr 0.01, no weight decay) for 3000 full-batch epochs on the train mask,
every 20 epochs score the two other masks, and report the score on one of them at the epoch where
the other scored best. Their ``train.py`` (line 174) passes ``(train_mask, val_mask, test_mask)``
while ``get_idx_split`` (line 32) unpacks ``train_mask, test_mask, val_mask``: the model is
*selected on the test mask* (1,000 nodes) and *reported on the validation mask* (500 nodes).

:func:`pot_probe` does the same computation; ``swapped=False`` selects on the validation mask and
reports the test mask (the protocol as intended), ``swapped=True`` reproduces the authors' swap.
Micro-F1 of a single-label problem is accuracy.
"""

from __future__ import annotations

import numpy as np
import torch


def pot_probe(z: torch.Tensor, y: torch.Tensor, train: torch.Tensor, val: torch.Tensor, test: torch.Tensor, *,
              seed: int = 0, epochs: int = 3000, swapped: bool = False) -> float:
    """Accuracy on ``test`` at the evaluation (every 20 epochs) with the best accuracy on ``val``
    (first best; ``swapped=True``: selected on ``test``, reported on ``val``, as the authors'
    code runs). ``train`` / ``val`` / ``test`` are boolean masks."""
    if swapped:
        val, test = test, val
    g = torch.Generator().manual_seed(seed)
    z = z.detach().float()
    classes = int(y.max()) + 1
    weight = torch.empty(classes, z.shape[1])
    bound = float(np.sqrt(6.0 / (z.shape[1] + classes)))  # xavier_uniform_
    weight.uniform_(-bound, bound, generator=g)
    layer = torch.nn.Linear(z.shape[1], classes)
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.zero_()
    opt = torch.optim.Adam(layer.parameters(), lr=0.01, weight_decay=0.0)
    best_val, best_test = 0.0, 0.0
    for epoch in range(epochs):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(layer(z[train]), y[train])
        loss.backward()
        opt.step()
        if (epoch + 1) % 20 == 0:
            with torch.no_grad():
                pred = layer(z).argmax(1)
                acc_val = float((pred[val] == y[val]).float().mean())
                acc_test = float((pred[test] == y[test]).float().mean())
            if acc_val > best_val:
                best_val, best_test = acc_val, acc_test
    return best_test
