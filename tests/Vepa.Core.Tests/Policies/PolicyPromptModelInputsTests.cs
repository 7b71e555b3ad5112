using static TorchSharp.torch;

namespace Vepa.Core.Tests.Policies;

public sealed class PolicyPromptModelInputsTests
{
    [Fact]
    public void Model_inputs_are_kept_by_reference_and_not_owned()
    {
        using var pixels = zeros(4, 6);
        using var grid = tensor(new long[] { 1, 2, 2 }).reshape(1, 3);
        var inputs = new Dictionary<string, Tensor> { ["pixel_values"] = pixels, ["image_grid_thw"] = grid };

        var prompt = new PolicyPrompt("What colour?", "red", [1, 2, 3]) { ModelInputs = inputs };

        prompt.ModelInputs.Should().BeSameAs(inputs);
        prompt.ModelInputs!["pixel_values"].Should().BeSameAs(pixels);
        new PolicyPrompt("What colour?", "red", [1]).ModelInputs.Should().BeNull();
    }

    [Fact]
    public void A_null_tensor_or_an_empty_name_is_refused_naming_the_entry()
    {
        var nullTensor = () => new PolicyPrompt("What colour?", "red", [1]) { ModelInputs = new Dictionary<string, Tensor> { ["pixel_values"] = null! } };
        using var pixels = zeros(1);
        var emptyName = () => new PolicyPrompt("What colour?", "red", [1]) { ModelInputs = new Dictionary<string, Tensor> { [" "] = pixels } };

        nullTensor.Should().Throw<ArgumentException>().WithMessage("*\"pixel_values\" = null*").And.ParamName.Should().Be("ModelInputs");
        emptyName.Should().Throw<ArgumentException>().WithMessage("*\" \" = a tensor*");
    }
}
