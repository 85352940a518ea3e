#!/usr/bin/env bash
# A second PyTorch for `npm run bench`: the current CPU wheel in bench/.venv-torch, beside Debian's python3-torch
# (1.13, OpenBLAS). pip takes the wheel from wherever it is configured to look (PIP_FIND_LINKS / an index).
# On a GPU machine, install a CUDA build into the same venv to get the PyTorch CUDA rows (bench --device gpu).
set -euo pipefail
cd "$(dirname "$0")"
python=${PYTHON:-/usr/bin/python3}
"$python" -m venv .venv-torch
.venv-torch/bin/pip install --quiet --disable-pip-version-check "${TORCH_SPEC:-torch}" numpy
.venv-torch/bin/python -c 'import torch; print("bench/.venv-torch: torch", torch.__version__)'
