using Microsoft.AspNetCore.Http;

namespace MSaaS.Api.Routes;

/// <summary>The JSON every refusal carries: {"reason": ..., "status": ...}.</summary>
public sealed record ErrorReply(string Reason, int Status);

internal static class Reply
{
    public static IResult Error(int status, string reason) => Results.Json(new ErrorReply(reason, status), statusCode: status);

    public static IResult NotFound(string reason) => Error(StatusCodes.Status404NotFound, reason);
}
