using System.Globalization;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using MSaaS.Api.Compat;
using MSaaS.Api.Persistence;
using MSaaS.Api.Uploads;
using MSaaS.Api.StateMachines;
using MSaaS.Audio;
using MSaaS.Encoding;
using MSaaS.Encoding.Consumers;
using MSaaS.Notifications;
using MSaaS.Notifications.Consumers;
using MSaaS.Separation;
using MSaaS.Separation.Consumers;
using MSaaS.Separation.Demucs;
using MSaaS.Separation.Onnx;
using MSaaS.Storage;
using StackExchange.Redis;

namespace MSaaS.Cli.Hosting;

/// <summary>Composes an MSaaS process from configuration: storage, saga store, bus and the consumers of its roles.</summary>
public static class MsaasServices
{
    public static IServiceCollection AddMsaas(this IServiceCollection services, IConfiguration configuration, MsaasRoles roles)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<IObjectStore>(_ => CreateStore(configuration.GetSection("Storage")));
        services.AddHostedService<BucketInitializer>();
        services.AddSingleton(new FfmpegDecoder());

        // Redis:Configuration set: sagas live in Redis (the distributed profile); otherwise in this process.
        var redis = configuration["Redis:Configuration"];
        if (!string.IsNullOrEmpty(redis))
            services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(redis + ",abortConnect=false"));
        var compat = roles.HasFlag(MsaasRoles.Api) && !string.IsNullOrEmpty(redis) && configuration.GetValue<bool>("Compat:Enabled");

        if (roles.HasFlag(MsaasRoles.Api))
        {
            if (string.IsNullOrEmpty(redis)) services.AddSingleton<ISongStateStore, InMemorySongStateStore>();
            else services.AddSingleton<ISongStateStore>(sp => new RedisSongStateStore(sp.GetRequiredService<IConnectionMultiplexer>()));
            services.TryAddSingleton<SongIntake>();
            services.Configure<PipelineOptions>(configuration.GetSection(PipelineOptions.Section));
            services.Configure<DeadlineWatcherOptions>(configuration.GetSection("Deadlines"));
            services.AddHostedService<DeadlineWatcher>();
        }
        if (compat)
        {
            services.Configure<CompatOptions>(configuration.GetSection(CompatOptions.Section));
            services.AddSingleton<LegacyLog>();
            services.AddHostedService<ToWorkerAdapter>();
        }
        if (roles.HasFlag(MsaasRoles.Separation))
        {
            services.AddSingleton<IStemSeparator>(_ => DemucsSeparator.Open(SeparationSettings(configuration.GetSection("Separation"))));
            services.AddHostedService<SeparationEngineStartup>(); // before the bus: no song is taken before the model is ready
        }
        if (roles.HasFlag(MsaasRoles.Encoding))
            services.Configure<Mp3Settings>(configuration.GetSection("Mp3"));
        if (roles.HasFlag(MsaasRoles.Notifications))
        {
            services.Configure<WebhookOptions>(configuration.GetSection(WebhookOptions.Section));
            services.AddSingleton<IWebhookClient, WebhookClient>();
            if (string.IsNullOrEmpty(redis)) services.AddSingleton<IDeliveryLedger, InMemoryDeliveryLedger>();
            else services.AddSingleton<IDeliveryLedger>(sp => new RedisDeliveryLedger(sp.GetRequiredService<IConnectionMultiplexer>()));
        }

        services.AddMassTransit(bus =>
        {
            bus.SetKebabCaseEndpointNameFormatter();
            if (roles.HasFlag(MsaasRoles.Api)) bus.AddSongSaga();
            if (roles.HasFlag(MsaasRoles.Separation)) bus.AddConsumer<SeparateStemsConsumer, SeparateStemsConsumerDefinition>();
            if (roles.HasFlag(MsaasRoles.Encoding)) bus.AddConsumer<EncodeStemsConsumer, EncodeStemsConsumerDefinition>();
            if (roles.HasFlag(MsaasRoles.Notifications)) bus.AddConsumer<DeliverWebhookConsumer, DeliverWebhookConsumerDefinition>();
            if (compat) bus.AddConsumer<LegacyLogConsumer>();
            if (string.Equals(configuration["Bus:Transport"], "rabbitmq", StringComparison.OrdinalIgnoreCase))
            {
                var rabbit = configuration.GetSection("RabbitMq");
                bus.UsingRabbitMq((context, transport) =>
                {
                    // Durable queues and persistent messages are MassTransit's defaults on RabbitMQ; a message is
                    // acknowledged only after its consumer (and the saga's store) finished.
                    transport.Host(rabbit["Host"] ?? "localhost", rabbit.GetValue<ushort?>("Port") ?? 5672, rabbit["VirtualHost"] ?? "/", h =>
                    {
                        h.Username(rabbit["Username"] ?? "guest");
                        h.Password(rabbit["Password"] ?? "guest");
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
            o.StopTimeout = TimeSpan.FromSeconds(50);
        });
        return services;
    }

    private static IObjectStore CreateStore(IConfigurationSection storage)
    {
        if (string.Equals(storage["Kind"], "s3", StringComparison.OrdinalIgnoreCase))
        {
            return new S3ObjectStore(new S3Options
            {
                Endpoint = storage["S3:Endpoint"] ?? throw new InvalidOperationException("Storage:S3:Endpoint is not configured"),
                AccessKey = storage["S3:AccessKey"] ?? throw new InvalidOperationException("Storage:S3:AccessKey is not configured"),
                SecretKey = storage["S3:SecretKey"] ?? throw new InvalidOperationException("Storage:S3:SecretKey is not configured"),
            });
        }
        var root = storage["Root"] ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "msaas", "store");
        return new LocalObjectStore(root);
    }

    private static DemucsSettings SeparationSettings(IConfigurationSection section)
    {
        var settings = new DemucsSettings().WithModel(section["ModelPath"]);
        return settings with
        {
            Session = new OrtSessionSettings
            {
                IntraOpThreads = int.Parse(section["Threads"] ?? "0", CultureInfo.InvariantCulture),
                UseCuda = bool.Parse(section["Cuda"] ?? "false"),
                CudaDeviceId = int.Parse(section["CudaDevice"] ?? "0", CultureInfo.InvariantCulture),
            },
        };
    }

    /// <summary>Creates the buckets the pipeline writes to, before any consumer runs.</summary>
    private sealed class BucketInitializer(IObjectStore store) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            foreach (var bucket in SongObjects.Buckets) await store.EnsureBucketAsync(bucket, cancellationToken);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
