"""Data-parallel training under ``torchrun --nproc_per_node=N`` (gloo on CPU, nccl on GPUs).

Every process builds the same examples and the same epoch plan from the same seed, then
takes every N-th batch. After each backward pass the gradients of the trainable parameters
are averaged across processes in one flat all-reduce, so every process applies the same
update and the weights stay identical (rank 0 writes checkpoints).

Why not ``DistributedDataParallel``: the trainable set changes during a run (the layer-wise
schedule unfreezes layers; DDP fixes its buckets at construction) and FGM runs two backward
passes per step (DDP would all-reduce both). Averaging the LoRA and head gradients once per
step is a few hundred kilobytes and is the same arithmetic DDP does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def setup() -> Dist:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1), else run alone."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{local_rank}") if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world <= 1:
        return Dist(device=device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    return Dist(rank=dist.get_rank(), world=dist.get_world_size(), local_rank=local_rank,
                local_world=local_world, device=device)


def cleanup(d: Dist) -> None:
    if d.enabled and dist.is_initialized():
        dist.destroy_process_group()


def average_gradients(d: Dist, params: list[torch.nn.Parameter]) -> None:
    """Mean of each trainable parameter's gradient over all processes (a process whose batch
    did not reach a parameter counts 0). Parameters frozen right now (layer-wise schedule:
    the same on every process) are left alone, so their gradient stays None as it would alone."""
    params = [p for p in params if p.requires_grad]
    if not d.enabled or not params:
        return
    flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1).float()
                      for p in params])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= d.world
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset: offset + n].view_as(p).to(p.dtype)
        offset += n


def broadcast_parameters(d: Dist, params: list[torch.nn.Parameter]) -> None:
    """Start every process from rank 0's weights (LoRA and head initialisation are random)."""
    if not d.enabled:
        return
    with torch.no_grad():
        for p in params:
            dist.broadcast(p.data, src=0)


def sum_values(d: Dist, values: dict[str, float]) -> dict[str, float]:
    """Sum numbers (counts, losses) over all processes."""
    if not d.enabled:
        return dict(values)
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=d.device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return dict(zip(keys, t.tolist()))


def broadcast_object(d: Dist, obj):
    if not d.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(d: Dist) -> None:
    if d.enabled:
        dist.barrier()
