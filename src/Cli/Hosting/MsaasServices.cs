using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MSaaS.Api;
using MSaaS.Api.Compat;
using MSaaS.Saga;
using MSaaS.Encoding;
using MSaaS.Notifications;
using MSaaS.Separation;
using MSaaS.ServiceDefaults;
using MSaaS.Storage;
using StackExchange.Redis;

namespace MSaaS.Cli.Hosting;

/// <summary>
/// Composes an MSaaS process from its roles: each project registers itself (AddStorage, AddSongSaga, AddSeparation,
/// AddEncoding, AddNotifications, AddLegacyCompat); this adds the process-wide parts, Redis and the bus.
/// </summary>
public static class MsaasServices
{
    public static IServiceCollection AddMsaas(this IServiceCollection services, IConfiguration configuration, MsaasRoles roles)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddStorage();
        var redis = services.AddRedis(configuration);
        if (roles.HasFlag(MsaasRoles.Api)) services.AddSongSaga();
        // The legacy lists live in the Redis that legacy producers write to.
        var compat = roles.HasFlag(MsaasRoles.Api) && redis && configuration.GetSection(CompatOptions.Section).Get<CompatOptions>()?.Enabled == true;
        if (compat) services.AddLegacyCompat();
        if (roles.HasFlag(MsaasRoles.Separation)) services.AddSeparation(); // before the bus: the model loads before a song is taken
        if (roles.HasFlag(MsaasRoles.Encoding)) services.AddEncoding();
        if (roles.HasFlag(MsaasRoles.Notifications)) services.AddNotifications();

        var transport = services.AddBus(configuration, bus =>
        {
            if (roles.HasFlag(MsaasRoles.Api)) bus.AddSongStateMachine().AddApiConsumers();
            if (roles.HasFlag(MsaasRoles.Separation)) bus.AddSeparationConsumers();
            if (roles.HasFlag(MsaasRoles.Encoding)) bus.AddEncodingConsumers();
            if (roles.HasFlag(MsaasRoles.Notifications)) bus.AddNotificationConsumers();
            if (compat) bus.AddLegacyCompatConsumers();
        });
        // The in-memory bus forgets the commands in flight when the process stops: the songs are resumed at start
        // (after the bus, which is registered above). RabbitMQ keeps them by itself.
        if (roles.HasFlag(MsaasRoles.Api) && transport == BusTransport.InMemory) services.AddHostedService<SongRecovery>();
        return services;
    }

    /// <summary>One Redis connection for the process when "Redis:Configuration" is set; true when it is.</summary>
    internal static bool AddRedis(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<RedisOptions>(RedisOptions.Section);
        var options = configuration.GetSection(RedisOptions.Section).Get<RedisOptions>();
        if (string.IsNullOrEmpty(options?.Configuration)) return false;
        // abortConnect=false: the process starts while Redis is away and reconnects by itself; commands fail fast
        // meanwhile, and what they carried is retried by their callers (bus redelivery, the toWorker loop).
        services.TryAddSingleton<IConnectionMultiplexer>(sp =>
            ConnectionMultiplexer.Connect(sp.GetRequiredService<IOptions<RedisOptions>>().Value.Configuration + ",abortConnect=false"));
        return true;
    }

    /// <summary>MassTransit with the conventions every MSaaS process shares, on the transport "Bus" names; returns that transport.</summary>
    private static BusTransport AddBus(this IServiceCollection services, IConfiguration configuration, Action<IBusRegistrationConfigurator> consumers)
    {
        services.AddValidatedOptions<BusOptions>(BusOptions.Section);
        var options = configuration.GetSection(BusOptions.Section).Get<BusOptions>() ?? new BusOptions();
        if (options.Transport == BusTransport.RabbitMq) services.AddValidatedOptions<RabbitMqOptions>(RabbitMqOptions.Section);
        services.AddMassTransit(bus =>
        {
            bus.SetKebabCaseEndpointNameFormatter();
            bus.ConfigureUsageTelemetryOptions(telemetry =>
            {
                telemetry.Enabled = options.UsageTelemetry;
                telemetry.ReportDelay = options.UsageTelemetryDelay;
            });
            consumers(bus);
            if (options.Transport == BusTransport.RabbitMq)
            {
                bus.UsingRabbitMq((context, transport) =>
                {
                    // Durable queues and persistent messages are MassTransit's defaults on RabbitMQ; a message is
                    // acknowledged only after its consumer (and the saga's store) finished.
                    var rabbit = context.GetRequiredService<IOptions<RabbitMqOptions>>().Value;
                    transport.Host(rabbit.Host, (ushort)rabbit.Port, rabbit.VirtualHost, h =>
                    {
                        h.Username(rabbit.Username);
                        h.Password(rabbit.Password);
                    });
                    transport.ConfigureEndpoints(context);
                });
            }
            else
            {
                bus.UsingInMemory((context, transport) => transport.ConfigureEndpoints(context));
            }
        });
        services.Configure<MassTransitHostOptions>(o =>
        {
            o.WaitUntilStarted = true;
            // After WorkerStop has let the work in hand finish or handed it back: what is left to stop is quick.
            o.StopTimeout = TimeSpan.FromSeconds(5);
        });
        return options.Transport;
    }
}
