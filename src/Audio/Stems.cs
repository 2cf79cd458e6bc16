namespace MSaaS.Audio;

/// <summary>The four stems htdemucs produces, in the model's output order.</summary>
public static class Stems
{
    public static IReadOnlyList<string> Names { get; } = ["drums", "bass", "other", "vocals"];

    public const int Count = 4;

    public const int Channels = 2;

    public const int SampleRate = 44_100;
}
