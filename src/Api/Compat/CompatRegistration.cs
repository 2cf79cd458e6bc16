using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using MSaaS.ServiceDefaults;

namespace MSaaS.Api.Compat;

public static class CompatRegistration
{
    /// <summary>The legacy Redis interface of "Compat": the toWorker adapter and the logging list (needs the process's Redis connection).</summary>
    public static IServiceCollection AddLegacyCompat(this IServiceCollection services)
    {
        services.AddValidatedOptions<CompatOptions>(CompatOptions.Section);
        services.TryAddSingleton<LegacyLog>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ToWorkerAdapter>());
        return services;
    }

    /// <summary>The consumer that puts the pipeline's milestones on the legacy logging list.</summary>
    public static IBusRegistrationConfigurator AddLegacyCompatConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<LegacyLogConsumer>();
        return bus;
    }
}
