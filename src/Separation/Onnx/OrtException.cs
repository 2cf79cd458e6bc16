namespace MSaaS.Separation.Onnx;

/// <summary>An error reported by ONNX Runtime, or by this binding about the runtime it loaded.</summary>
public sealed class OrtException : Exception
{
    public OrtException(string message) : base(message) { }

    public OrtException(string message, Exception inner) : base(message, inner) { }

    public OrtException(int errorCode, string message) : base(message) => ErrorCode = errorCode;

    /// <summary>The OrtErrorCode of the failed call; 0 when the error did not come from a status.</summary>
    public int ErrorCode { get; }
}
