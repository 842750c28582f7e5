#!/usr/bin/python3
# An unmodified PyTorch DDP program: it reads only what PyTorchJob (and torchrun)
# set — MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK — and trains a small
# MLP on Fashion-MNIST with the gloo backend, each rank on its own shard. Rank 0
# prints Katib-style metric lines, which Cadre's agent parses.
#
#   cadre apply -f examples/pytorch-ddp.yaml
import gzip
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

DATA = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        magic, count = struct.unpack(">II", f.read(8))
        dims = [count] + [struct.unpack(">I", f.read(4))[0] for _ in range((magic & 0xFF) - 1)]
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 60000
    torch.set_num_threads(1)
    dist.init_process_group("gloo")  # env:// rendezvous from MASTER_ADDR/PORT, RANK, WORLD_SIZE
    rank, world = dist.get_rank(), dist.get_world_size()
    print(f"rank={rank} world_size={world} local_rank={os.environ['LOCAL_RANK']} "
          f"master={os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}", flush=True)
    torch.manual_seed(0)
    x = torch.from_numpy(read_idx("train-images-idx3-ubyte.gz")[:limit].astype(np.float32) / 255.0)
    y = torch.from_numpy(read_idx("train-labels-idx1-ubyte.gz")[:limit].astype(np.int64))
    x, y = x[rank::world].reshape(-1, 784), y[rank::world]  # this rank's shard
    tx = torch.from_numpy(read_idx("t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0)
    ty = torch.from_numpy(read_idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    model = DistributedDataParallel(
        nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(1, epochs + 1):
        start, total = time.time(), 0.0
        perm = torch.randperm(len(x))
        for i in range(0, len(x) - 63, 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item()
        with torch.no_grad():
            accuracy = (model.module(tx.reshape(-1, 784)).argmax(1) == ty).float().mean().item()
        if rank == 0:
            print(f"epoch={epoch} loss={total / max(1, len(x) // 64):.4f} accuracy={accuracy:.4f} "
                  f"images_per_sec={len(x) * world / (time.time() - start):.0f}", flush=True)
    dist.barrier()
    print(f"rank={rank} done", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
