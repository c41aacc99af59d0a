"""The course's exp1.py training loop, as a student runs it: one process per
setting, one seed, a DataLoader over the 200 points (one full batch), an
nn.Sequential MLP, torch.optim.Adam and autograd. No plotting (that only
makes the baseline slower).

    python bench/course_fit.py --epochs 1000 --lr 0.01 [--seed 2019] [--threads 1]

Prints one JSON line: epochs, lr, train_seconds, final loss.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def f(x: torch.Tensor) -> torch.Tensor:
    return x**2 + 2 * torch.sin(x) + torch.cos(x - 1) - 5


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--threads", type=int, default=0, help="0: PyTorch's default")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    torch.manual_seed(args.seed)
    x = torch.rand(200, 1) * 10 - 5
    y = f(x) + torch.randn(200, 1) * 3
    loader = DataLoader(TensorDataset(x, y), batch_size=200, shuffle=False)
    model = nn.Sequential(nn.Linear(1, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    criterion = nn.MSELoss()

    started = time.perf_counter()
    loss = torch.tensor(math.nan)
    for _ in range(args.epochs):
        for batch_x, batch_y in loader:
            loss = criterion(model(batch_x), batch_y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    seconds = time.perf_counter() - started
    print(json.dumps({"epochs": args.epochs, "lr": args.lr, "train_seconds": seconds, "loss": float(loss.detach())}))


if __name__ == "__main__":
    main()
