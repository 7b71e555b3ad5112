using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Vepa.Rewards.Tests.Pipeline;

/// <summary>Builds a service provider with the services the stages look for: a clock, a meter factory, a logger factory.</summary>
public static class PipelineServices
{
    public static ServiceProvider Create(TimeProvider? timeProvider = null, FakeLoggerProvider? loggerProvider = null, Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddMetrics();
        if (timeProvider is not null)
        {
            services.AddSingleton(timeProvider);
        }

        if (loggerProvider is not null)
        {
            services.AddLogging(b => b.ClearProviders().SetMinimumLevel(LogLevel.Trace).AddProvider(loggerProvider));
        }

        configure?.Invoke(services);
        return services.BuildServiceProvider();
    }

    /// <summary>Waits (real time, polling) until <paramref name="condition"/> holds, failing after 10 s.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"Timed out waiting until {what}.");
            }

            await Task.Delay(5);
        }
    }
}
