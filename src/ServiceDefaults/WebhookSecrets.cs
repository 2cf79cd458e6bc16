using System.Security.Cryptography;
using System.Text;

namespace MSaaS.ServiceDefaults;

/// <summary>
/// Each client's webhook signing secret, derived from the service-wide one (Webhooks:SigningSecret) and the client's id:
/// HMAC-SHA256 of the id under the service secret's bytes, in the Standard Webhooks form (<c>whsec_</c> and base64).
/// Nothing per client is stored, so no store holds a secret; the service secret, in a Kubernetes Secret, is the one
/// thing to keep. The same id always gives the same secret: a new one for a client means a new service secret.
/// </summary>
public static class WebhookSecrets
{
    public const string Prefix = "whsec_";

    /// <summary>The client's secret under the service secret that <paramref name="configuration"/> holds; null when it holds none, or a malformed one.</summary>
    public static string? ForClient(Microsoft.Extensions.Configuration.IConfiguration configuration, string clientId)
    {
        if (configuration["Webhooks:SigningSecret"] is not { Length: > 0 } secret) return null;
        try
        {
            return ForClient(secret, clientId);
        }
        catch (FormatException)
        {
            return null; // the notifications service refuses it at start, saying why
        }
    }

    /// <summary>The secret of the client <paramref name="clientId"/> under <paramref name="serviceSecret"/> (<c>whsec_...</c>).</summary>
    public static string ForClient(string serviceSecret, string clientId)
    {
        var key = Convert.FromBase64String(serviceSecret.StartsWith(Prefix, StringComparison.Ordinal) ? serviceSecret[Prefix.Length..] : serviceSecret);
        return Prefix + Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes("msaas client webhooks:" + clientId)));
    }
}
