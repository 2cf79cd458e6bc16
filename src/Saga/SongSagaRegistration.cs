using MassTransit;
using MassTransit.Configuration;
using MassTransit.Saga;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using MSaaS.Saga.Persistence;
using MSaaS.ServiceDefaults;
using MSaaS.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace MSaaS.Saga;

public static class SongSagaRegistration
{
    /// <summary>
    /// What the song saga needs around it: its store (in Redis when the process has a Redis connection, else in files
    /// beside the local object store: <c>&lt;Storage:Root&gt;/sagas</c>), the "Pipeline" deadlines and attempts, and the
    /// deadline watcher.
    /// </summary>
    public static IServiceCollection AddSongSaga(this IServiceCollection services)
    {
        services.AddValidatedOptions<PipelineOptions>(PipelineOptions.Section);
        services.AddValidatedOptions<DeadlineWatcherOptions>(DeadlineWatcherOptions.Section);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SongChanges>();
        services.TryAddSingleton<ISongStateStore>(sp => sp.GetService<IConnectionMultiplexer>() is { } redis
            ? new RedisSongStateStore(redis)
            : new FileSongStateStore(SagaDirectory(sp.GetRequiredService<IOptions<StorageOptions>>().Value),
                sp.GetRequiredService<ILogger<FileSongStateStore>>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, DeadlineWatcher>());
        return services;
    }

    private static string SagaDirectory(StorageOptions storage) => storage.Kind == StorageKind.Local
        ? Path.Combine(storage.Root, SongObjects.SagaDirectory)
        : Path.Combine(DataDirectory.Default is { Length: > 0 } data ? data : throw new InvalidOperationException(
            "no data directory for the sagas: set XDG_DATA_HOME or HOME, or Redis:Configuration"), "sagas");

    /// <summary>The song state machine, stored in whatever <see cref="ISongStateStore"/> the host registered.</summary>
    public static IBusRegistrationConfigurator AddSongStateMachine(this IBusRegistrationConfigurator bus)
    {
        bus.TryAddSingleton(TimeProvider.System);
        bus.TryAddSingleton<SongChanges>();
        bus.AddOptions<PipelineOptions>(); // bound by AddSongSaga in a host; defaults in a test harness
        bus.AddSagaStateMachine<SongStateMachine, SongState, SongStateDefinition>()
            .Repository(r =>
            {
                r.RegisterSagaRepository<SongState, ISongStateStore, SagaConsumeContextFactory<ISongStateStore, SongState>,
                    SongStateRepositoryContextFactory>();
                r.RegisterLoadSagaRepository<SongState, SongStateRepositoryContextFactory>();
            });
        bus.AddConsumer<SeparationCompletedUpgrade>();
        return bus;
    }
}
