#!/usr/bin/env bash
# The fused CUDA kernels on a GPU machine with PyTorch (no .NET SDK needed): NVRTC is taken from PyTorch's pip install.
# Usage (after `dotnet publish tools/Vepa.GpuCheck -c Release -o <dir>` on a machine with the .NET SDK):
#   bash tools/Vepa.GpuCheck/run-cuda-kernels.sh <dir>
set -u
app=${1:-artifacts/gpucheck}
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv
nvidia-smi | head -4 | tail -2
python3 -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, torch.cuda.get_device_name(0))'
torch_dir=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')
site=$(dirname "$torch_dir")
nvrtc=${VEPA_NVRTC_PATH:-$(find "$site/nvidia" "$torch_dir/lib" /usr/local/cuda/lib64 -name 'libnvrtc.so*' 2>/dev/null | grep -v builtins | sort | head -1)}
echo "NVRTC: $nvrtc"
ls "$(dirname "$nvrtc")" 2>/dev/null | grep -i nvrtc
export VEPA_NVRTC_PATH="$nvrtc"
export LD_LIBRARY_PATH="$torch_dir/lib:$(dirname "$nvrtc"):${LD_LIBRARY_PATH:-}"
export VEPA_CUDA_KERNELS=1  # lets PolicyLoss.Compute's automatic choice (Kernel null or "auto") pick the CUDA kernel
export VEPA_CUDA_CACHE=${VEPA_CUDA_CACHE:-/tmp/vepa-cuda-cache}
chmod +x "$app/Vepa.GpuCheck"
"$app/Vepa.GpuCheck" cuda-kernels
rc=$?
echo "exit code $rc"
ls -la "$VEPA_CUDA_CACHE" | head -30
exit $rc
