namespace MSaaS.Audio.Mp3;

/// <summary>LAME is missing, refused its settings, or failed while encoding.</summary>
public sealed class EncodingException : Exception
{
    public EncodingException(string message) : base(message) { }

    public EncodingException(string message, Exception inner) : base(message, inner) { }
}
