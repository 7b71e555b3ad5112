using System.Runtime.InteropServices;
using TorchSharp;

string torchLib = Environment.GetEnvironmentVariable("VEPA_TORCH_LIB") ?? throw new InvalidOperationException("Set VEPA_TORCH_LIB to PyTorch's torch/lib folder.");
Console.WriteLine($"Loading libtorch_cuda from {torchLib}");
NativeLibrary.Load(Path.Combine(torchLib, "libtorch_cuda.so"));
torch.InitializeDeviceType(DeviceType.CUDA);
Console.WriteLine($"cuda available: {torch.cuda.is_available()}, devices: {torch.cuda.device_count()}");
using var x = torch.ones(4, device: torch.CUDA);
Console.WriteLine($"sum on cuda: {x.sum().item<float>()}");
