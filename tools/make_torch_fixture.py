"""Write the torch fixtures of tests/io/test_torch_pth.py with real PyTorch (run once; the files are committed).

    python tools/make_torch_fixture.py [--out tests/fixtures]

Writes, from seeded values:
  torch_state.pth         torch.save of a small state dict, zip format (the default)
  torch_state_legacy.pth  the same dict in the legacy format (_use_new_zipfile_serialization=False)
  torch_state_expected.npz  the values every tensor must load as (bfloat16 widened to float32)

The dict covers float32/float64/float16/bfloat16/int64/bool tensors, a 0-d
tensor, an empty tensor, a transposed (strided) view, two views sharing one
storage at different offsets, and a nested dict. minigen itself never imports
torch; only this script does.
"""
import argparse
import os
from collections import OrderedDict

import numpy as np
import torch


def state():
    g = torch.Generator().manual_seed(20240)
    base = torch.randn(3, 4, generator=g)
    shared = torch.arange(10, dtype=torch.float64) / 4
    return OrderedDict([
        ("conv.weight", torch.randn(2, 3, 1, 1, generator=g)),
        ("conv.bias", torch.randn(2, generator=g, dtype=torch.float64)),
        ("steps", torch.arange(-3, 5, dtype=torch.int64)),
        ("base", base),
        ("base_t", base.t()),                       # strides (1, 4) over base's storage
        ("shared_a", shared[2:5]),                  # offset 2 into one storage ...
        ("shared_b", shared[1::3]),                 # ... offset 1, stride 3, same storage
        ("half", torch.randn(5, generator=g).half()),
        ("bf16", torch.randn(2, 2, generator=g).bfloat16()),
        ("mask", torch.tensor([True, False, True])),
        ("scalar", torch.tensor(2.5)),
        ("empty", torch.zeros(0, 3)),
        ("block", {"inner": torch.randn(2, 2, generator=g)}),
    ])


def expected(sd, prefix=""):
    out = {}
    for k, v in sd.items():
        if isinstance(v, dict):
            out.update(expected(v, prefix + k + "."))
        else:
            out[prefix + k] = (v.float() if v.dtype == torch.bfloat16 else v).contiguous().numpy()
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    sd = state()
    torch.save(sd, os.path.join(args.out, "torch_state.pth"))
    torch.save(sd, os.path.join(args.out, "torch_state_legacy.pth"), _use_new_zipfile_serialization=False)
    np.savez(os.path.join(args.out, "torch_state_expected.npz"), **expected(sd))
    print(f"wrote torch_state.pth, torch_state_legacy.pth and torch_state_expected.npz to {args.out} "
          f"(torch {torch.__version__})")


if __name__ == "__main__":
    main()
