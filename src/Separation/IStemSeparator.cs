using MSaaS.Audio;

namespace MSaaS.Separation;

/// <summary>Separates a song into <see cref="Stems.Names"/>.</summary>
public interface IStemSeparator
{
    /// <summary>
    /// Separates <paramref name="mix"/> (44.1 kHz, mono or stereo; in memory or spooled to disk) and hands the stems to <paramref name="sink"/>
    /// in track order as they are finished. Reports progress per model segment; cancelling stops the model run in progress.
    /// </summary>
    Task SeparateAsync(IAudioSource mix, IStemSink sink, SeparationOptions options,
        IProgress<SeparationProgress>? progress = null, CancellationToken cancellationToken = default);
}
