#!/usr/bin/python3
"""Rebuilds an mrl checkpoint's model in PyTorch and compares embeddings.

Usage: torch_check.py CKPT INPUTS.npy GO_EMBEDDINGS.npy [--tol T]

Reads CKPT (safetensors: 8-byte little-endian header length, JSON header,
raw little-endian float32; the model config is in __metadata__["mrl.model"]),
builds the same MLP or CNN backbone and MRL heads as torch.nn modules,
loads the tensors with load_state_dict(strict=True), runs the backbone in
eval mode on INPUTS (rows of raw examples, NHWC images flattened, as
"mrl embed --in" reads them) and compares with GO_EMBEDDINGS (what
"mrl embed" wrote for the same rows). Prints the maximum absolute and
relative differences; exits 1 if the relative one exceeds --tol.

Layout: Linear weights are [out, in] in both; our Conv2d weights are
[out, kh, kw, in] (OHWI) and PyTorch's [out, in, kh, kw], so they are
permuted (0, 3, 1, 2). BatchNorm running_var is unbiased in both; eps 1e-5.
"""

import argparse
import collections
import json
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_checkpoint(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        if t["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name}: dtype {t['dtype']}, want F32")
        a, b = t["data_offsets"]
        tensors[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(t["shape"]).copy()
    return json.loads(meta["mrl.model"]), tensors


class MLP(nn.Module):
    def __init__(self, inp, hidden, embed):
        super().__init__()
        self.fc1 = nn.Linear(inp, hidden)
        self.bn1 = nn.BatchNorm1d(hidden)
        self.fc2 = nn.Linear(hidden, embed)
        self.bn2 = nn.BatchNorm1d(embed)

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        return F.relu(self.bn2(self.fc2(F.relu(self.bn1(self.fc1(x))))))


def conv_bn(i, o, k, stride, pad):
    return nn.Sequential(
        collections.OrderedDict(conv=nn.Conv2d(i, o, k, stride, pad, bias=False), bn=nn.BatchNorm2d(o))
    )


class Block(nn.Module):
    def __init__(self, i, o, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(i, o, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(o)
        self.conv2 = nn.Conv2d(o, o, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(o)
        self.shortcut = conv_bn(i, o, 1, stride, 0) if (i != o or stride != 1) else None

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (self.shortcut(x) if self.shortcut is not None else x))


class CNN(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w = cfg["width"]
        self.shape = (cfg["in_h"], cfg["in_w"], cfg["in_c"])
        self.stem = conv_bn(cfg["in_c"], w, 3, 1, 1)
        self.layer1 = Block(w, 2 * w, 2)
        self.layer2 = Block(2 * w, 4 * w, 2)
        self.embed = conv_bn(4 * w, cfg["embed"], 1, 1, 0)

    def forward(self, x):
        h, w, c = self.shape
        x = x.reshape(x.shape[0], h, w, c).permute(0, 3, 1, 2)  # NHWC -> NCHW
        x = F.relu(self.stem(x))
        x = self.layer2(self.layer1(x))
        x = F.relu(self.embed(x))
        return x.mean(dim=(2, 3))


class Heads(nn.Module):
    """MRL heads: one Linear(m, classes) per nesting dim (nesting_classifier_i)."""

    def __init__(self, nesting, classes):
        super().__init__()
        for i, m in enumerate(nesting):
            setattr(self, f"nesting_classifier_{i}", nn.Linear(m, classes))


class Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        if cfg["arch"] == "mlp":
            self.backbone = MLP(cfg["in_h"] * cfg["in_w"] * cfg["in_c"], cfg["hidden"], cfg["embed"])
        elif cfg["arch"] == "cnn":
            self.backbone = CNN(cfg)
        else:
            raise SystemExit(f"arch {cfg['arch']!r} not supported")
        if cfg.get("heads", "mrl") != "mrl":
            raise SystemExit(f"heads {cfg['heads']!r}: this script rebuilds mrl heads only")
        self.head = Heads(cfg["nesting"], cfg["classes"])


def state_dict(tensors, model):
    sd = {}
    for name, a in tensors.items():
        if name.startswith("optimizer."):
            continue
        if a.ndim == 4:  # our conv weights are OHWI; PyTorch's OIHW
            a = a.transpose(0, 3, 1, 2)
        sd[name] = torch.from_numpy(np.ascontiguousarray(a))
    for name in model.state_dict():
        if name.endswith("num_batches_tracked"):
            sd[name] = torch.tensor(0)
    return sd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpt")
    ap.add_argument("inputs")
    ap.add_argument("go_embeddings")
    ap.add_argument("--tol", type=float, default=1e-5, help="largest relative difference accepted")
    args = ap.parse_args()

    torch.set_num_threads(1)
    cfg, tensors = read_checkpoint(args.ckpt)
    model = Model(cfg)
    model.load_state_dict(state_dict(tensors, model), strict=True)
    model.eval()
    x = torch.from_numpy(np.load(args.inputs).astype(np.float32))
    with torch.no_grad():
        got = model.backbone(x).numpy()
    want = np.load(args.go_embeddings)
    if got.shape != want.shape:
        raise SystemExit(f"shapes differ: PyTorch {got.shape}, mrl embed {want.shape}")
    diff = float(np.max(np.abs(got - want)))
    scale = float(np.max(np.abs(want)))
    rel = diff / scale if scale > 0 else diff
    print(f"{cfg['arch']}: {got.shape[0]} rows × {got.shape[1]} dims, loaded with load_state_dict(strict=True); "
          f"max |PyTorch - mrl embed| = {diff:.3g} (largest |value| {scale:.3g}, relative {rel:.3g}; tol {args.tol:g})")
    if rel > args.tol:
        sys.exit(1)


if __name__ == "__main__":
    main()
