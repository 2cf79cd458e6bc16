using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace MSaaS.Api.Web;

/// <summary>
/// The web page: GET / answers it (200 text/html, which load balancers and the legacy clients expect), its scripts
/// and styles are under /ui/. The files are compiled into this assembly (wwwroot/, with a manifest that keeps their
/// paths), so every way the service runs serves the same page with nothing beside the binaries and nothing fetched
/// from elsewhere.
/// </summary>
public static class WebPage
{
    public const string AssetPath = "/ui";

    // Only this origin: no CDN, no inline script, nothing framed.
    private const string ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
        "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private static readonly ManifestEmbeddedFileProvider Files = new(typeof(WebPage).Assembly, "wwwroot");

    public static WebApplication UseWebPage(this WebApplication app)
    {
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new ManifestEmbeddedFileProvider(typeof(WebPage).Assembly, "wwwroot" + AssetPath),
            RequestPath = AssetPath,
            // Revalidated each time (the ETag makes that cheap): a new version of the service shows its new page at once.
            OnPrepareResponse = file => Secure(file.Context.Response),
        });
        return app;
    }

    public static WebApplication MapWebPage(this WebApplication app)
    {
        var page = Read("index.html");
        app.MapGet("/", (HttpResponse response, IOptions<ApiOptions> options) =>
            {
                Secure(response);
                // The page refuses a file above the upload limit before sending it.
                return Results.Content(page.Replace("{{maxSongBytes}}", options.Value.MaxSongBytes.ToString(CultureInfo.InvariantCulture),
                    StringComparison.Ordinal), "text/html; charset=utf-8");
            })
            .WithSummary("The web page (load balancers use it as a health check)").ExcludeFromDescription();
        return app;
    }

    private static void Secure(HttpResponse response)
    {
        response.Headers.CacheControl = "no-cache";
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
    }

    private static string Read(string path)
    {
        using var reader = new StreamReader(Files.GetFileInfo(path).CreateReadStream());
        return reader.ReadToEnd();
    }
}
