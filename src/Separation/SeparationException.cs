namespace MSaaS.Separation;

/// <summary>The separation could not be done: a model that is not htdemucs, a runtime that fails, output that is not finite.</summary>
public sealed class SeparationException : Exception
{
    public SeparationException(string message) : base(message) { }

    public SeparationException(string message, Exception inner) : base(message, inner) { }
}
