r"""Training one KAN on several processes with PyTorch's DistributedDataParallel (DDP).

Each process, rank r of R, holds a replica of the model and its own shard of n_r training
samples (N = sum_r n_r in all). In each process the reader writes

    torch.distributed.init_process_group(backend)   # "nccl" on GPUs, "gloo" on CPUs
    model = DistributedDataParallel(KAN([...]).to(device))
    kanlab.fit(model, shard)

and `kanlab.fit` sees the wrapper (`unwrap` finds the KAN inside, `Replicas` the processes).
What it does so that every rank trains the model that one process would train on all N samples:

- The loss. At every backward DDP averages the ranks' gradients, (1 / R) sum_r grad L_r. Rank r's
  loss is its objective on its own samples weighted by its share of them,
  L_r = (R n_r / N) (1 / n_r) sum_{s in shard r} ||model(x_s) - y_s||^2,
  so that (1 / R) sum_r L_r = (1 / N) sum_s ||model(x_s) - y_s||^2 is the mean over the union of
  the data, and DDP's average is its gradient (with equal shards the weight is 1). LBFGS's line
  search compares losses and takes its decisions on them: every rank gets the same number, the
  all-reduced (1 / R) sum_r L_r, so every rank takes the same steps. (With its own local loss
  each rank would search along the same direction with different values, and the ranks would part
  ways: one would step where another does not, and their collectives would no longer match.)
- Levenberg-Marquardt. J^T J, J^T r and ||r||^2 are sums over samples: each rank sums its own
  and the sums are all-reduced, so every rank solves the same system.
- Grid updates. The ranks' samples are gathered (every rank receives every sample, in rank
  order), and every rank updates its KAN on the union, as one process would; rank 0's grids and
  parameters are then broadcast, so that ranks whose hardware rounds differently still agree bit
  for bit. Each rank thus holds all N grid samples and runs them through the network at every
  update (nine times in a default fit). Refinement (`KAN.refine`) depends only on the grid and
  the coefficients, which are then the same on every rank.
- Errors. A NaN or infinite loss shows in the all-reduced loss, so every rank raises
  FloatingPointError at the same step (a rank that raised alone would leave the others waiting in
  their next collective until its timeout).
- The history's root-mean-square errors are over the union: sums of squared errors and sample
  counts are all-reduced.

DDP's defaults refuse a trainable parameter that the loss does not reach; a KAN has none (the
formula parameters of a layer without symbolic edges, `kanlab.symbolic.SymbolicEdges.affine`,
require no gradient). Snap edges, prune or refine before wrapping: each makes new parameters,
which a wrapper made earlier does not know.

A process that is not wrapped in DDP trains alone, whether or not a process group exists.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from kanlab.loss import mean_squared_error

__all__ = ["unwrap", "rewrap", "Replicas"]


def unwrap(model):
    """The module inside a DistributedDataParallel wrapper (its `.module`), else model itself."""
    return model.module if isinstance(model, DistributedDataParallel) else model


def rewrap(wrapper, module):
    """module wrapped as wrapper is: a new DistributedDataParallel on the same devices and
    process group (with find_unused_parameters as before, DDP's other arguments at their
    defaults) when wrapper is one, else module itself. For a module that replaces the wrapped one,
    such as a refined KAN."""
    if not isinstance(wrapper, DistributedDataParallel):
        return module
    return DistributedDataParallel(
        module,
        device_ids=wrapper.device_ids,
        output_device=wrapper.output_device,
        process_group=wrapper.process_group,
        find_unused_parameters=wrapper.find_unused_parameters,
    )


class Replicas:
    """The processes that train one model together: the process group of a DistributedDataParallel
    wrapper, or this process alone (then every method returns its argument, or the local value).

    Attributes:
        group: the process group (None for one process).
        size: R, the number of processes.
        rank: this process's rank in group (0 for one process).
    """

    def __init__(self, model):
        wrapped = isinstance(model, DistributedDataParallel)
        self.group = model.process_group if wrapped else None
        self.size = dist.get_world_size(self.group) if wrapped else 1
        self.rank = dist.get_rank(self.group) if wrapped else 0

    @property
    def distributed(self):
        return self.group is not None

    def sum(self, tensor):
        """tensor summed over the ranks, in place (the result is bitwise the same on every rank)."""
        if self.distributed:
            dist.all_reduce(tensor, group=self.group)
        return tensor

    def counts(self, n, device=None):
        """Every rank's n, in rank order: a list of R integers."""
        if not self.distributed:
            return [n]
        counts = [torch.zeros(1, dtype=torch.long, device=device) for _ in range(self.size)]
        dist.all_gather(counts, torch.tensor([n], dtype=torch.long, device=device), group=self.group)
        return [int(c) for c in counts]

    def share(self, n, device=None):
        """R n_r / N, the weight of this rank's mean loss over its n_r = n samples (1 for one process).

        Raises ValueError on every rank if some rank has no sample."""
        if not self.distributed:
            return 1.0
        counts = self.counts(n, device)
        if min(counts) < 1:
            raise ValueError(f"every rank needs at least one training sample; the ranks hold {counts}")
        return self.size * n / sum(counts)

    def gather(self, x):
        """The rows of x (n_r, ...) of every rank, concatenated in rank order (sum_r n_r, ...)."""
        if not self.distributed:
            return x
        counts = self.counts(len(x), x.device)
        padded = x.new_zeros(max(counts), *x.shape[1:])
        padded[: len(x)] = x
        pieces = [torch.empty_like(padded) for _ in counts]
        dist.all_gather(pieces, padded.contiguous(), group=self.group)
        return torch.cat([piece[:count] for piece, count in zip(pieces, counts)])

    @torch.no_grad()
    def broadcast(self, module):
        """Copy rank 0's parameters and buffers into every rank's module, in place."""
        if self.distributed:
            source = dist.get_global_rank(self.group, 0)
            for tensor in [*module.parameters(), *module.buffers()]:
                dist.broadcast(tensor.data, source, group=self.group)

    def raise_together(self, error, device=None):
        """Raise error (an exception or None) on this rank, and a ValueError on every other rank
        when any rank has one, so that no rank waits alone in a collective for one that stopped."""
        if self.distributed:
            failed = self.sum(torch.tensor([float(error is not None)], device=device))
            if error is None and failed.item() > 0:
                raise ValueError(f"{int(failed.item())} other process(es) stopped: their data failed "
                                 "kanlab.data.check_dataset (their errors name the argument)")
        if error is not None:
            raise error

    @torch.no_grad()
    def rmse(self, model, x, y):
        """sqrt(mean (model(x) - y)^2) over every rank's samples (the shapes must agree), a float."""
        return self.rmse_tensor(model, x, y).item()

    @torch.no_grad()
    def rmse_tensor(self, model, x, y):
        """The same as a 0-d tensor on the model's device, not read back to the host: `kanlab.fit`
        keeps its history's errors this way between checks, so that a step never waits for the device."""
        if not self.distributed:
            return torch.sqrt(mean_squared_error(model(x), y))
        squared = (model(x) - y) ** 2
        count = torch.full((), squared.numel(), dtype=torch.float64, device=squared.device)
        total = self.sum(torch.stack([squared.sum(dtype=torch.float64), count]))
        return torch.sqrt(total[0] / total[1])
