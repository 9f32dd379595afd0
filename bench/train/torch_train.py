#!/usr/bin/python3
"""Training throughput of PyTorch on the two reference models of main.go.

Run with Debian's interpreter and python3-torch (/usr/bin/python3), which
uses whatever libblas.so.3 is selected: the figure is only meaningful on
OpenBLAS, so the script refuses to report one when the reference BLAS is
what got loaded. It prints one JSON line with the same fields as main.go:

    {"impl":"pytorch","model":"mlp","threads":1,"batch":256,"samples_per_sec":...,"torch":"1.13.0a0","blas":...}

The models, loss and optimizer are those of main.go (see its doc comment):
the MLP 784-1024-2048 and the small ResNet-style CNN with a 512-d
embedding, MRL heads Linear(m, 10) on z[:, :m] for m = 8, 16, ..., D, the
loss a sum of per-head mean cross-entropies, SGD(lr=0.1, momentum=0.9,
weight_decay=5e-4) on every parameter, train mode, random inputs (uniform
[0,1) pixels, labels 0..9).
"""

import argparse
import ctypes
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def nesting(d):
    ms, m = [], 8
    while m <= d:
        ms.append(m)
        m *= 2
    return ms


class MRLHeads(nn.Module):
    """One Linear(m, classes) per nesting dim m, on the prefix z[:, :m]."""

    def __init__(self, d, classes):
        super().__init__()
        self.ms = nesting(d)
        self.heads = nn.ModuleList(nn.Linear(m, classes) for m in self.ms)

    def loss(self, z, y):
        return sum(F.cross_entropy(h(z[:, :m]), y) for m, h in zip(self.ms, self.heads))


def mlp():
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 1024), nn.BatchNorm1d(1024), nn.ReLU(),
        nn.Linear(1024, 2048), nn.BatchNorm1d(2048), nn.ReLU(),
    ), 2048


class Block(nn.Module):
    """ResNet basic block with a 1x1 conv + BN shortcut, as model.block."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + self.shortcut(x))


def cnn(w=16, d=512):
    return nn.Sequential(
        nn.Conv2d(1, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
        Block(w, 2 * w, 2), Block(2 * w, 4 * w, 2),
        nn.Conv2d(4 * w, d, 1, 1, 0, bias=False), nn.BatchNorm2d(d), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    ), d


def loaded_blas():
    """The BLAS shared objects mapped into this process, and OpenBLAS's own
    account of itself (config string, core kernel) when it is one of them."""
    paths = []
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            base = os.path.basename(p)
            if ("blas" in base or "openblas" in p) and p not in paths:
                paths.append(p)
    info = {"paths": paths, "openblas": any("openblas" in p for p in paths),
            # Debian's reference BLAS lives in .../blas/libblas.so.3
            "reference": any("openblas" not in p and os.path.basename(p).startswith("libblas") for p in paths)}
    for p in paths:
        try:
            lib = ctypes.CDLL(p)
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_corename.restype = ctypes.c_char_p
            info["openblas_config"] = lib.openblas_get_config().decode()
            info["openblas_core"] = lib.openblas_get_corename().decode()
            info["openblas_threads"] = lib.openblas_get_num_threads()
            break
        except (OSError, AttributeError):
            continue
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-model", "--model", default="mlp", choices=["mlp", "cnn"])
    ap.add_argument("-threads", "--threads", type=int, default=1)
    ap.add_argument("-batch", "--batch", type=int, default=256)
    ap.add_argument("-steps", "--steps", type=int, default=30)
    ap.add_argument("-warmup", "--warmup", type=int, default=5)
    ap.add_argument("-seed", "--seed", type=int, default=1)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    backbone, d = mlp() if a.model == "mlp" else cnn()
    heads = MRLHeads(d, 10)
    model = nn.ModuleDict({"backbone": backbone, "heads": heads}).train()
    params = list(model.parameters())
    opt = torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=5e-4)

    pool = 4
    shape = (a.batch, 784) if a.model == "mlp" else (a.batch, 1, 28, 28)
    xs = [torch.rand(shape) for _ in range(pool)]
    ys = [torch.randint(0, 10, (a.batch,)) for _ in range(pool)]

    def step(i):
        opt.zero_grad(set_to_none=False)
        loss = heads.loss(backbone(xs[i % pool]), ys[i % pool])
        loss.backward()
        opt.step()
        return loss

    for i in range(a.warmup):
        step(i)
    t0 = time.perf_counter()
    for i in range(a.steps):
        loss = step(a.warmup + i)
    loss = loss.item()  # also waits for the last step
    sec = time.perf_counter() - t0

    blas = loaded_blas()  # after the steps: every library in use is mapped
    cfg_blas = [l.strip() for l in torch.__config__.show().splitlines() if "BLAS" in l or "LAPACK" in l]
    cfg_blas = [s.strip() for l in cfg_blas for s in l.split(",") if "BLAS" in s or "LAPACK" in s]
    if blas["reference"] or not blas["openblas"]:
        print(f"torch_train.py: refusing to report: the reference BLAS, not OpenBLAS, was loaded: {blas['paths'] or 'no BLAS found'}; "
              "install libopenblas0-openmp and select it with update-alternatives "
              "(libblas.so.3-x86_64-linux-gnu), as run.sh does", file=sys.stderr)
        sys.exit(1)

    print(json.dumps({
        "impl": "pytorch", "model": a.model, "threads": a.threads, "batch": a.batch,
        "steps": a.steps, "warmup": a.warmup, "seconds": sec,
        "samples_per_sec": a.steps * a.batch / sec, "loss": loss,
        "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "blas": blas, "torch_config_blas": cfg_blas,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
        "params": sum(p.numel() for p in params),
    }))


if __name__ == "__main__":
    main()
