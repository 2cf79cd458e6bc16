using MSaaS.Contracts;

namespace MSaaS.Api.Uploads;

/// <summary>A parsed POST /apiv1/separate: the song (spooled to disk) and what the client asked for.</summary>
public sealed record SeparateRequest(UploadSpool Song, string? Model, Callback? Callback);

/// <summary>Why a request was refused: an HTTP status and a reason for the JSON body.</summary>
public sealed class RequestRefusedException(int status, string reason) : Exception(reason)
{
    public int Status { get; } = status;
}
