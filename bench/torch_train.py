#!/usr/bin/python3
"""The PyTorch peer of cadre-train: the same mlp/cnn architectures, data,
normalisation, batch size, optimizer, schedule and thread count, so images/sec
and accuracy compare like for like. Prints cadre-train's metric line per epoch
and a JSON summary as the last line."""
import argparse
import gzip
import json
import math
import time

import numpy as np
import torch
import torch.nn as nn


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(data_dir, split):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(f"{data_dir}/{prefix}-images-idx3-ubyte.gz").astype(np.float32)
    y = read_idx(f"{data_dir}/{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    x = (x / 255.0 - 0.2860) / 0.3530  # same normalisation as cadre-train
    return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)


def build(name):
    # Mirrors training/model.cc model_definition().
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128),
                             nn.ReLU(), nn.Linear(128, 10))
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
        nn.Linear(32 * 7 * 7, 256), nn.ReLU(), nn.Dropout(0.25), nn.Linear(256, 10))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="cnn")
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--optimizer", default="adam")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--train-limit", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x, y = load(a.data, "train")
    if a.train_limit:
        x, y = x[:a.train_limit], y[:a.train_limit]
    tx, ty = load(a.data, "test")
    model = build(a.model)
    for m in model.modules():  # He-uniform weights, zero biases, as cadre-train
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_uniform_(m.weight, a=0, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    opt = (torch.optim.Adam(model.parameters(), lr=a.lr) if a.optimizer == "adam" else
           torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9))
    steps_per_epoch = math.ceil(len(x) / a.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(1.0, s / (a.epochs * steps_per_epoch)))))
    loss_fn = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(a.seed)
    history = []
    for epoch in range(1, a.epochs + 1):
        model.train()
        perm = torch.randperm(len(x), generator=g)
        total, seen = 0.0, 0
        start = time.perf_counter()
        for b in range(0, len(x), a.batch_size):
            idx = perm[b:b + a.batch_size]
            xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            seen += len(idx)
        secs = time.perf_counter() - start
        model.eval()
        with torch.no_grad():
            correct = sum((model(tx[i:i + 1000]).argmax(1) == ty[i:i + 1000]).sum().item()
                          for i in range(0, len(tx), 1000))
        acc = correct / len(tx)
        history.append({"epoch": epoch, "loss": total / seen, "accuracy": acc,
                        "images_per_sec": seen / secs})
        print(f"epoch={epoch} loss={total / seen:.4f} accuracy={acc:.4f} "
              f"images_per_sec={seen / secs:.1f}", flush=True)
    print(json.dumps({"framework": "torch", "torch_version": torch.__version__,
                      "model": a.model, "threads": a.threads, "batch_size": a.batch_size,
                      "history": history}))


if __name__ == "__main__":
    main()
