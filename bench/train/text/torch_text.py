#!/usr/bin/python3
"""Training throughput of PyTorch on the text encoder of main.go.

Reads the tokenised batches main.go -gen wrote (ids.npy, offsets.npy,
meta.json: tokenisation is excluded from both sides) and times the same
training step: nn.EmbeddingBag(buckets, bag_dim, mode="mean", sparse=True),
the MLP (Linear+ReLU per hidden width, then Linear to D), the contrastive
Matryoshka loss (for each dim m of 8..D: F.normalize of the m-prefixes of
the n queries and n documents, logits = cos/τ, cross-entropy with the
diagonal as target; the sum over dims: sentence-transformers'
MatryoshkaLoss(MultipleNegativesRankingLoss) with scale 1/τ), backward,
and the optimizers: SparseAdam on the bag, AdamW on the MLP (lr and weight
decay from meta.json). It prints one JSON line with main.go's fields.
"""

import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-run", required=True)
    ap.add_argument("-threads", type=int, default=1)
    ap.add_argument("-steps", type=int, default=20)
    ap.add_argument("-warmup", type=int, default=3)
    ap.add_argument("-dense", action="store_true",
                    help="dense bag gradient and one AdamW over all parameters (PyTorch 1.13's sparse path can be the slower one; run.sh times both and reports the faster)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    meta = json.load(open(os.path.join(a.run, "meta.json")))
    ids = torch.from_numpy(np.load(os.path.join(a.run, "ids.npy")).astype(np.int64))
    offs = np.load(os.path.join(a.run, "offsets.npy")).astype(np.int64)
    n, d = meta["batch"], meta["embed"]
    batches = []
    for b in range(meta["batches"]):
        o = offs[2 * n * b: 2 * n * (b + 1) + 1]
        batches.append((ids[o[0]:o[-1]], torch.from_numpy(o[:-1] - o[0])))

    torch.manual_seed(1)
    bag = nn.EmbeddingBag(meta["buckets"], meta["bag_dim"], mode="mean", sparse=not a.dense)
    layers, width = [], meta["bag_dim"]
    for h in meta["hidden"] or []:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, d))
    mlp = nn.Sequential(*layers)
    if a.dense:
        sparse_opt = torch.optim.AdamW(bag.parameters(), lr=meta["lr"], weight_decay=0)
    else:
        sparse_opt = torch.optim.SparseAdam(bag.parameters(), lr=meta["lr"])
    dense_opt = torch.optim.AdamW(mlp.parameters(), lr=meta["lr"], weight_decay=meta["wd"])
    scale = 1.0 / meta["tau"]
    target = torch.arange(n)

    def step(i):
        x, o = batches[i % len(batches)]
        sparse_opt.zero_grad()
        dense_opt.zero_grad()
        z = mlp(bag(x, o))
        q, p = z[:n], z[n:]
        loss = 0
        for m in meta["nesting"]:
            logits = F.normalize(q[:, :m], dim=-1) @ F.normalize(p[:, :m], dim=-1).T * scale
            loss = loss + F.cross_entropy(logits, target)
        loss.backward()
        sparse_opt.step()
        dense_opt.step()
        return loss.item()

    for i in range(a.warmup):
        step(i)
    t0 = time.perf_counter()
    for i in range(a.steps):
        loss = step(a.warmup + i)
    sec = time.perf_counter() - t0
    print(json.dumps({"impl": "pytorch", "model": "text", "variant": "dense" if a.dense else "sparse", "threads": a.threads, "batch": n, "steps": a.steps,
                      "warmup": a.warmup, "seconds": sec, "samples_per_sec": a.steps * n / sec, "loss": loss,
                      "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                      "params": sum(p.numel() for p in list(bag.parameters()) + list(mlp.parameters())),
                      "buckets": meta["buckets"]}))


if __name__ == "__main__":
    main()
