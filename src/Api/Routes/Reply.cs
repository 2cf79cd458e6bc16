using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MSaaS.ServiceDefaults;

namespace MSaaS.Api.Routes;

/// <summary>The JSON every refusal carries: {"reason": ..., "status": ...}.</summary>
public sealed record ErrorReply(string Reason, int Status);

internal static class Reply
{
    /// <summary>A refusal: the JSON above, and one line in the log (a client's mistake is no stack trace).</summary>
    public static IResult Error(int status, string reason) => new Refusal(status, reason);

    public static IResult NotFound(string reason) => Error(StatusCodes.Status404NotFound, reason);

    /// <summary>The reason given for a status that reading the request's body raised (Kestrel's BadHttpRequestException); no setting is named.</summary>
    public static string ProtocolReason(int status) => status switch
    {
        StatusCodes.Status408RequestTimeout => "the request arrived too slowly",
        StatusCodes.Status411LengthRequired => "the request has a body without a length",
        StatusCodes.Status413PayloadTooLarge => "the request is larger than this service accepts",
        _ => "the request is malformed",
    };

    /// <summary>Answers <paramref name="context"/> with a refusal from middleware, outside any route.</summary>
    public static Task WriteAsync(HttpContext context, int status, string reason) => new Refusal(status, reason).ExecuteAsync(context);

    private sealed class Refusal(int status, string reason) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => status;

        public Task ExecuteAsync(HttpContext httpContext)
        {
            var logger = httpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("MSaaS.Api.Refusals");
            var request = httpContext.Request;
            // One line; the reason cut short, since it may quote what the client sent.
            logger.LogInformation("{Method} {Path} from {Client}: {Status} {Reason}", request.Method, ClientText.Cut(request.Path.Value ?? "", 200),
                httpContext.Connection.RemoteIpAddress, status, ClientText.Cut(reason, 200));
            return Results.Json(new ErrorReply(reason, status), statusCode: status).ExecuteAsync(httpContext);
        }
    }
}
