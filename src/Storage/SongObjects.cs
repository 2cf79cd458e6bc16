namespace MSaaS.Storage;

/// <summary>The names the existing MSaaS deployments use: uploads in `queue`, stems in `output`.</summary>
public static class SongObjects
{
    public const string UploadBucket = "queue";
    public const string StemBucket = "output";
    public const string WorkBucket = "work";
    public const string WavContentType = "audio/wav";

    /// <summary>Every bucket the pipeline writes to.</summary>
    public static IReadOnlyList<string> Buckets { get; } = [UploadBucket, StemBucket, WorkBucket];

    /// <summary>The embedded mode's saga files, a directory beside the buckets under the local store's root: not a bucket.</summary>
    public const string SagaDirectory = "sagas";

    /// <summary>
    /// Whether a client (a legacy message's "bucket") may name <paramref name="bucket"/> as where its song is: any
    /// bucket but the pipeline's own work bucket and the local store's saga directory.
    /// </summary>
    public static bool IsClientBucket(string bucket) => bucket is not (WorkBucket or SagaDirectory);
    public const string Mp3ContentType = "audio/mpeg";

    /// <summary>queue/&lt;songhash&gt;.mp3</summary>
    public static ObjectKey Upload(string songHash) => new(UploadBucket, $"{songHash}.mp3");

    /// <summary>output/&lt;songhash&gt;-&lt;track&gt;.mp3 (or .wav for lossless stems)</summary>
    public static ObjectKey Stem(string songHash, string track, string format = "mp3") => new(StemBucket, $"{songHash}-{track}.{format}");

    /// <summary>work/&lt;songhash&gt;/&lt;track&gt;.wav: a lossless stem between separation and encoding.</summary>
    public static ObjectKey WorkStem(string songHash, string track) => new(WorkBucket, $"{songHash}/{track}.wav");

    /// <summary>
    /// work/&lt;songhash&gt;/live/&lt;run&gt;/&lt;track&gt;/&lt;part&gt;.mp3: the next bytes of a stem's MP3 as the separation
    /// worker encodes it, for listeners who do not wait for the song to finish. A run is one worker's separation of the
    /// song (a redelivered or retried song is a new run, whose bytes may differ). Part n is stored after part n - 1.
    /// </summary>
    public static ObjectKey LivePart(string songHash, Guid run, string track, int part) =>
        new(WorkBucket, $"{LivePrefix(songHash)}{run:N}/{track}/{part:D6}.mp3");

    /// <summary>The prefix every live part of a song shares in <see cref="WorkBucket"/>.</summary>
    public static string LivePrefix(string songHash) => $"{songHash}/live/";

    /// <summary>The prefix every stem of a song shares in <see cref="StemBucket"/>.</summary>
    public static string StemPrefix(string songHash) => $"{songHash}-";
}
