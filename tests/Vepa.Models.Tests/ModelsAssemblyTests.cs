namespace Vepa.Models.Tests;

public class ModelsAssemblyTests
{
    [Fact]
    public void The_assembly_names_the_Qwen_model_types_it_loads()
    {
        ModelsAssembly.SupportedModelTypes.Should().Contain(["qwen2", "qwen3", "qwen2_vl"]);
    }
}
