using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vepa;
using Vepa.Grpo;
using Vepa.Grpo.Kernels;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the GRPO trainer in an <see cref="IServiceCollection"/>.</summary>
public static class GrpoTrainerServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="GrpoTrainer"/> as <see cref="AddGrpoTrainer(IServiceCollection, Func{IServiceProvider, IPolicy}, object?)"/>
    /// does, with <see cref="GrpoTrainerOptions"/> bound from the configuration section at <paramref name="configSectionPath"/>
    /// (for example <c>"Vepa:Grpo"</c> in <c>appsettings.json</c>) of the container's <c>IConfiguration</c>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="policyFactory">Creates the policy.</param>
    /// <param name="configSectionPath">The configuration section holding the options.</param>
    /// <param name="rewardModelKey">The key of the reward model to use, or <see langword="null"/> for the unkeyed one.</param>
    /// <returns>The options builder, for further configuration.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="policyFactory"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// <para>The section is read from the <c>IConfiguration</c> registered in the container: a generic or web host registers one;
    /// a bare <see cref="ServiceCollection"/> needs <c>services.AddSingleton&lt;IConfiguration&gt;(configuration)</c> first.</para>
    /// <para>Binding is strict: a key in the section that names no setting (a typo such as <c>GroupSzie</c>, at any depth) fails
    /// with an <see cref="InvalidOperationException"/> that names the key, when the options are first resolved (at host start,
    /// with the start-up validation) instead of training with the default.</para>
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="configSectionPath"/> is null or empty.</exception>
    public static OptionsBuilder<GrpoTrainerOptions> AddGrpoTrainer(
        this IServiceCollection services, Func<IServiceProvider, IPolicy> policyFactory, string configSectionPath, object? rewardModelKey = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configSectionPath);
        return services.AddGrpoTrainer(policyFactory, rewardModelKey).BindConfiguration(configSectionPath, binder => binder.ErrorOnUnknownConfiguration = true);
    }

    /// <summary>
    /// Registers a singleton <see cref="GrpoTrainer"/> over the policy <paramref name="policyFactory"/> creates and the container's
    /// <see cref="IRewardModel"/> (keyed when <paramref name="rewardModelKey"/> is given), with <see cref="GrpoTrainerOptions"/>
    /// validated at start-up.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="policyFactory">Creates the policy (registered as a singleton <see cref="IPolicy"/> with <c>TryAdd</c>; the container disposes it).</param>
    /// <param name="rewardModelKey">The key of the reward model to use, or <see langword="null"/> for the unkeyed one.</param>
    /// <returns>The options builder: configure with <c>.Configure(o =&gt; …)</c>, or use the overload with a section path, which binds strictly
    /// (a plain <c>.BindConfiguration("Vepa:Grpo")</c> ignores unknown keys unless given <c>binder =&gt; binder.ErrorOnUnknownConfiguration = true</c>).</returns>
    /// <remarks>
    /// <para>The trainer takes its sampler from a registered <see cref="IRolloutSampler"/> when there is one (an inference engine),
    /// else from the policy; its logger factory, meter factory and <see cref="TimeProvider"/> from the container when registered.
    /// A registered <see cref="KernelRegistry"/> becomes <see cref="PolicyLossOptions.Kernels"/> (unless the options set one),
    /// so <c>Loss:Kernel</c> can name a kernel registered there.</para>
    /// <para>Validation (data annotations, the rules across settings and the nested kernel options; one message listing every
    /// problem) runs when the host starts and throws <see cref="OptionsValidationException"/>; the trainer's constructor runs it
    /// again (an <see cref="ArgumentException"/>) and checks the stop and pad ids against the policy's vocabulary.</para>
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="policyFactory"/> is <see langword="null"/>.</exception>
    public static OptionsBuilder<GrpoTrainerOptions> AddGrpoTrainer(
        this IServiceCollection services, Func<IServiceProvider, IPolicy> policyFactory, object? rewardModelKey = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(policyFactory);
        return services.AddTrainer(
            policyFactory,
            provider => [new RewardComponent(
                GrpoTrainer.SingleRewardName,
                rewardModelKey is null ? provider.GetRequiredService<IRewardModel>() : provider.GetRequiredKeyedService<IRewardModel>(rewardModelKey))]);
    }

    /// <summary>
    /// Registers a singleton <see cref="GrpoTrainer"/> over the policy <paramref name="policyFactory"/> creates and several weighted
    /// rewards (<see cref="RewardComponent"/>), with <see cref="GrpoTrainerOptions"/> validated at start-up; otherwise as
    /// <see cref="AddGrpoTrainer(IServiceCollection, Func{IServiceProvider, IPolicy}, object?)"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="policyFactory">Creates the policy (registered as a singleton <see cref="IPolicy"/> with <c>TryAdd</c>; the container disposes it).</param>
    /// <param name="rewardComponentsFactory">Creates the reward components when the trainer is first resolved, for example from keyed
    /// <see cref="IRewardModel"/> registrations: <c>p =&gt; [new("accuracy", p.GetRequiredKeyedService&lt;IRewardModel&gt;("accuracy")), new("format", …, 0.2)]</c>.</param>
    /// <returns>The options builder: configure with <c>.Configure(o =&gt; …)</c> or bind strictly with
    /// <c>.BindConfiguration("Vepa:Grpo", binder =&gt; binder.ErrorOnUnknownConfiguration = true)</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/>, <paramref name="policyFactory"/> or <paramref name="rewardComponentsFactory"/> is <see langword="null"/>.</exception>
    public static OptionsBuilder<GrpoTrainerOptions> AddGrpoTrainer(
        this IServiceCollection services, Func<IServiceProvider, IPolicy> policyFactory, Func<IServiceProvider, IReadOnlyList<RewardComponent>> rewardComponentsFactory)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(policyFactory);
        ArgumentNullException.ThrowIfNull(rewardComponentsFactory);
        return services.AddTrainer(policyFactory, rewardComponentsFactory);
    }

    private static OptionsBuilder<GrpoTrainerOptions> AddTrainer(
        this IServiceCollection services, Func<IServiceProvider, IPolicy> policyFactory, Func<IServiceProvider, IReadOnlyList<RewardComponent>> rewardComponentsFactory)
    {
        services.TryAddSingleton(policyFactory);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrpoTrainerOptions>, GrpoTrainerOptionsValidator>());
        services.TryAddSingleton(provider => new GrpoTrainer(
            provider.GetRequiredService<IPolicy>(),
            rewardComponentsFactory(provider),
            provider.GetRequiredService<IOptions<GrpoTrainerOptions>>().Value,
            provider.GetService<IRolloutSampler>(),
            provider.GetService<ILoggerFactory>(),
            provider.GetService<IMeterFactory>(),
            provider.GetService<TimeProvider>()));
        return services.AddOptions<GrpoTrainerOptions>()
            .PostConfigure<IServiceProvider>((options, provider) =>
            {
                // A kernel registry in the container is where Loss.Kernel names are looked up, unless the options set one.
                if (options.Loss is { Kernels: null } loss)
                {
                    loss.Kernels = provider.GetService<KernelRegistry>();
                }
            })
            .ValidateOnStart();
    }
}
