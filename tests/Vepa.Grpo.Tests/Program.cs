using Vepa.Grpo.Tests.Training;

namespace Vepa.Grpo.Tests;

/// <summary>The entry point of the test assembly when it is run as a program: the child process of <see cref="TrainerKillTests"/>.</summary>
internal static class Program
{
    /// <summary>Runs <c>kill-host &lt;folder&gt; &lt;steps&gt; &lt;keep&gt;</c> or <c>grad-memory [hidden]</c>; anything else does nothing (the test host never calls this).</summary>
    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 4 && args[0] == KillHost.Command)
        {
            return await KillHost.RunAsync(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture));
        }

        if (args.Length >= 1 && args[0] == GradientMemoryProbe.Command)
        {
            return await GradientMemoryProbe.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1024);
        }

        return 0;
    }
}
