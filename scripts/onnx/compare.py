#!/usr/bin/python3
"""Checks an exported ONNX model: onnx.checker (full_check), then compares the
outputs onnxruntime computed (OUT.json from run.js) with mrl embed's
embeddings and with the heads' logits computed from the checkpoint.

Usage: compare.py CKPT MODEL.onnx INPUTS.npy GO_EMBEDDINGS.npy ORT_OUT.json [--tol T]
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from torch_check import read_checkpoint  # noqa: E402  (no torch needed for this function)


def main():
    ap = argparse.ArgumentParser()
    for a in ("ckpt", "model", "inputs", "go_embeddings", "ort_out"):
        ap.add_argument(a)
    ap.add_argument("--tol", type=float, default=1e-5)
    args = ap.parse_args()

    onnx.checker.check_model(onnx.load(args.model), full_check=True)
    cfg, tensors = read_checkpoint(args.ckpt)
    out = json.load(open(args.ort_out))
    want = np.load(args.go_embeddings)
    worst = 0.0
    emb = np.array(out["embedding"]["data"], dtype=np.float32).reshape(out["embedding"]["dims"])
    d = emb.shape[1]
    checks = [("embedding", emb, want[:, :d])]
    for i, m in enumerate(cfg["nesting"]):
        name = f"logits_{m}"
        if name not in out:
            continue
        w = tensors[f"head.nesting_classifier_{i}.weight"]
        b = tensors[f"head.nesting_classifier_{i}.bias"]
        ref = want[:, :m].astype(np.float64) @ w.T.astype(np.float64) + b
        got = np.array(out[name]["data"], dtype=np.float32).reshape(out[name]["dims"])
        checks.append((name, got, ref))
    for name, got, ref in checks:
        diff = float(np.max(np.abs(got - ref)))
        scale = float(np.max(np.abs(ref))) or 1.0
        worst = max(worst, diff / scale)
        print(f"  {name} {list(got.shape)}: max |onnxruntime - reference| = {diff:.3g} (relative {diff / scale:.3g})")
    print(f"{cfg['arch']}: onnx.checker full_check passed; worst relative difference {worst:.3g} (tol {args.tol:g})")
    if worst > args.tol:
        sys.exit(1)


if __name__ == "__main__":
    main()
