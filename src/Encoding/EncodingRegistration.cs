using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using MSaaS.Audio;
using MSaaS.Encoding.Consumers;
using MSaaS.ServiceDefaults;
using MSaaS.Audio.Mp3;

namespace MSaaS.Encoding;

public static class EncodingRegistration
{
    /// <summary>MP3 encoding with LAME, as "Mp3" says.</summary>
    public static IServiceCollection AddEncoding(this IServiceCollection services)
    {
        services.AddValidatedOptions<Mp3Options>(Mp3Options.Section);
        services.TryAddSingleton<FfmpegDecoder>();
        services.AddScratchCleanup();
        return services;
    }

    /// <summary>The consumer of <see cref="Contracts.EncodeStems"/>.</summary>
    public static IBusRegistrationConfigurator AddEncodingConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddWorkerStop(); // not started while the process stops; the work in hand given a grace period
        bus.AddConsumer<EncodeStemsConsumer, EncodeStemsConsumerDefinition>();
        return bus;
    }
}
