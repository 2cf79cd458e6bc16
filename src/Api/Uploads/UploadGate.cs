using Microsoft.Extensions.Options;

namespace MSaaS.Api.Uploads;

/// <summary>At most <see cref="ApiOptions.MaxUploadsInFlight"/> uploads read at once (each holds buffers and a scratch file).</summary>
public sealed class UploadGate(IOptions<ApiOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(options.Value.MaxUploadsInFlight, options.Value.MaxUploadsInFlight);

    /// <summary>Takes a slot if one is free now; false (at once) when none is.</summary>
    public bool TryEnter() => _slots.Wait(0);

    public void Exit() => _slots.Release();

    public void Dispose() => _slots.Dispose();
}
