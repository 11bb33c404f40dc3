"""CUDA C sources of minigen's GPU kernels, one file per op family (installed as minigen.kernels)."""
