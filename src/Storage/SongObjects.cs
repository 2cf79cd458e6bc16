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

    /// <summary>The prefix every stem of a song shares in <see cref="StemBucket"/>.</summary>
    public static string StemPrefix(string songHash) => $"{songHash}-";
}
