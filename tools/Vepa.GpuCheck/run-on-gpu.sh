#!/usr/bin/env bash
# Runs the published GPU check against the GPU machine's own PyTorch LibTorch (no CUDA LibTorch NuGet package is needed).
# Usage (after `dotnet publish tools/Vepa.GpuCheck -c Release -o artifacts/gpucheck` on a machine with the .NET SDK):
#   bash tools/Vepa.GpuCheck/run-on-gpu.sh artifacts/gpucheck
set -u
app=${1:-artifacts/gpucheck}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
python3 -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda)'
ldd --version | head -1
torch_dir=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')
export LD_LIBRARY_PATH="$torch_dir/lib:${LD_LIBRARY_PATH:-}"
chmod +x "$app/Vepa.GpuCheck"
"$app/Vepa.GpuCheck" cuda
