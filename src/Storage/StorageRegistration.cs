using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using MSaaS.ServiceDefaults;

namespace MSaaS.Storage;

public static class StorageRegistration
{
    /// <summary>The object store of "Storage" (a local directory or S3), with the pipeline's buckets made at start.</summary>
    public static IServiceCollection AddStorage(this IServiceCollection services)
    {
        services.AddValidatedOptions<StorageOptions>(StorageOptions.Section);
        services.TryAddSingleton<IObjectStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            return options.Kind == StorageKind.S3 ? new S3ObjectStore(options.S3) : new LocalObjectStore(options.Root);
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, BucketInitializer>());
        return services;
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
