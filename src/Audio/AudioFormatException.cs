namespace MSaaS.Audio;

/// <summary>The input is not audio MSaaS can use: not audio at all, corrupt, truncated, empty or silent-length.</summary>
public sealed class AudioFormatException : Exception
{
    public AudioFormatException(string message) : base(message) { }

    public AudioFormatException(string message, Exception inner) : base(message, inner) { }
}
