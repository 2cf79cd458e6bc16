using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using MSaaS.Audio;
using MSaaS.Audio.Mp3;
using MSaaS.Separation.Consumers;
using MSaaS.Separation.Demucs;
using MSaaS.ServiceDefaults;

namespace MSaaS.Separation;

public static class SeparationRegistration
{
    /// <summary>
    /// The separation engine of "Separation" (htdemucs on ONNX Runtime), opened when the host starts: before the bus
    /// takes a song, so a worker that cannot load its model refuses to start.
    /// </summary>
    public static IServiceCollection AddSeparation(this IServiceCollection services)
    {
        services.AddValidatedOptions<SeparationEngineOptions>(SeparationEngineOptions.Section);
        services.AddValidatedOptions<Mp3Options>(Mp3Options.Section); // the stems are encoded while they are separated
        services.TryAddSingleton<FfmpegDecoder>();
        services.TryAddSingleton<IStemSeparator>(sp => DemucsSeparator.Open(sp.GetRequiredService<IOptions<SeparationEngineOptions>>().Value));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SeparationEngineStartup>());
        services.AddScratchCleanup();
        return services;
    }

    /// <summary>The consumer of <see cref="Contracts.SeparateStems"/>, Separation:SongsInParallel songs at a time (one by default).</summary>
    public static IBusRegistrationConfigurator AddSeparationConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddWorkerStop(); // not started while the process stops; the work in hand given a grace period
        bus.AddConsumer<SeparateStemsConsumer, SeparateStemsConsumerDefinition>();
        return bus;
    }
}
