using System.ComponentModel.DataAnnotations;
using System.Net;

namespace MSaaS.Api;

/// <summary>The REST API's settings (configuration section "Api").</summary>
public sealed class ApiOptions : IValidatableObject
{
    public const string Section = "Api";

    /// <summary>
    /// Largest song accepted, in its own bytes; above it the answer is 413. The default, 440 MiB, takes a 3-hour MP3 at
    /// 320 kbps (412 MiB) with room for its tags and cover art. A JSON body carries the song in base64, a third larger:
    /// the request body may be up to <see cref="MaxRequestBytes"/>.
    /// </summary>
    [Range(1024, 3L << 30)]
    public long MaxSongBytes { get; set; } = 440L << 20;

    /// <summary>The largest request body: a song of <see cref="MaxSongBytes"/> in base64, and the request's other fields.</summary>
    public long MaxRequestBytes => RequestBytesFor(MaxSongBytes);

    /// <summary>The largest request body that carries a song of <paramref name="songBytes"/>: base64 and 1 MiB of fields.</summary>
    public static long RequestBytesFor(long songBytes) => (songBytes + 2) / 3 * 4 + (1 << 20);

    /// <summary>The key support staff send as X-Api-Key; the support routes answer 403 while none is configured.</summary>
    [MinLength(16, ErrorMessage = "must be at least 16 characters: it is the only thing between anyone and the support routes")]
    public string? SupportApiKey { get; set; }

    /// <summary>Accept callbacks to loopback/private/link-local addresses (the embedded mode on one's own machine).</summary>
    public bool AllowPrivateCallbacks { get; set; }

    /// <summary>
    /// The host names this service answers to (the Host header, any port); empty or "*" for any. The embedded mode
    /// sets localhost, 127.0.0.1 and [::1], so that a web page whose name is made to resolve to this machine (DNS
    /// rebinding) gets nothing from it.
    /// </summary>
    public string[] AllowedHosts { get; set; } = [];

    /// <summary>
    /// The reverse proxies (addresses, or networks such as 10.0.0.0/8) whose X-Forwarded-Proto and X-Forwarded-For this
    /// service believes. Behind an ingress that ends TLS, a browser's Origin is https://name while the service is
    /// spoken to in http, and every client comes from the ingress' address: with the ingress listed here, requests
    /// carry the scheme and the client address the ingress saw. Empty (the default): those headers are ignored, from
    /// anyone, since a client could write them itself.
    /// </summary>
    public string[] TrustedProxies { get; set; } = [];

    /// <summary>Uploads read at once; more are answered 429 with Retry-After (each holds a few MiB while it is read).</summary>
    [Range(1, 1024)]
    public int MaxUploadsInFlight { get; set; } = 8;

    /// <summary>
    /// Uploads read at once from one client address (an IPv6 client by its /64), so that one client cannot hold every
    /// slot of <see cref="MaxUploadsInFlight"/> (the lower of the two counts); more are answered 429 with Retry-After.
    /// Loopback clients (the embedded mode's own machine) are not held to it; 0 turns it off. Behind a proxy, list it
    /// in <see cref="TrustedProxies"/>: otherwise every client has the proxy's address and shares one client's share.
    /// </summary>
    [Range(0, 1024)]
    public int MaxUploadsPerClient { get; set; } = 2;

    /// <summary>
    /// The slowest an upload may arrive, on average, once <see cref="UploadGrace"/> has passed: an upload that falls
    /// behind this rate (what has come so far against the time taken) is ended with 408, so that none takes longer than
    /// its size allows. 16 KiB/s (128 kbit/s) gives a 10 MB song 10 minutes.
    /// </summary>
    [Range(1, 1L << 30)]
    public long MinUploadBytesPerSecond { get; set; } = 16 * 1024;

    /// <summary>The time every upload has before <see cref="MinUploadBytesPerSecond"/> is asked of it.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan UploadGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Distinct webhooks one song may have (duplicate submissions each add theirs); more are answered 409.</summary>
    [Range(1, 10_000)]
    public int MaxCallbacksPerSong { get; set; } = 100;

    /// <summary>Mixes (GET /apiv1/mix) made at once, each a few seconds of ffmpeg and LAME; more are answered 429 with Retry-After.</summary>
    [Range(1, 64)]
    public int MaxMixesInFlight { get; set; } = 2;

    /// <summary>Mixes a song keeps in the store (the latest made); older ones are made again when asked for.</summary>
    [Range(1, 1000)]
    public int MaxKeptMixesPerSong { get; set; } = 8;

    /// <summary>
    /// How often the progress and live streams look at the song when nothing wakes them sooner: a change this process
    /// stores (it runs the song saga) wakes them at once (<see cref="MSaaS.Saga.SongChanges"/>), one another replica
    /// stored is seen at the next look.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How long GET /apiv1/live waits for the first audio of a song that is still queued before it answers 503 (with
    /// Retry-After) rather than hold the connection; once audio flows, the stream lasts until the stem is complete.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan LiveWait { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Live streams (GET /apiv1/live) served at once; more are answered 429 with Retry-After. Each holds a connection for
    /// up to a song's length and looks at the store at each change of the song, or every <see cref="ProgressInterval"/>,
    /// while it waits for a part.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxLiveListeners { get; set; } = 256;

    /// <summary>
    /// Who may submit and read songs: "anonymous" (anyone; the legacy contract, the default), "keys" (a client's key on
    /// every client route; a client sees only its own songs) or "both" (keys, and requests without one as the client
    /// "anonymous"). Clients are managed with <c>msaas clients</c> or the support routes.
    /// </summary>
    public Clients.ClientAccess Clients { get; set; } = Api.Clients.ClientAccess.Anonymous;

    /// <summary>With <see cref="Clients"/> "both": the minutes a month requests without a key may send, all together; null: no limit.</summary>
    [Range(1, int.MaxValue)]
    public int? AnonymousMinutesPerMonth { get; set; }

    /// <summary>With <see cref="Clients"/> "both": the songs without a key that may be in flight at once; null: no limit.</summary>
    [Range(1, int.MaxValue)]
    public int? AnonymousSongsInFlight { get; set; }

    /// <summary>The client requests without a key count as under "both".</summary>
    internal Clients.ServiceClient AnonymousClient() => new()
    {
        Id = Api.Clients.ClientKeys.Anonymous, Name = Api.Clients.ClientKeys.Anonymous, CreatedAt = DateTimeOffset.UnixEpoch,
        MinutesPerMonth = AnonymousMinutesPerMonth, SongsInFlight = AnonymousSongsInFlight,
    };

    /// <summary>
    /// Requests a client may make a minute on the client routes, each client apart (a token bucket refilled every
    /// second, so a burst of this many is allowed); more are answered 429 with Retry-After. 0: no limit.
    /// </summary>
    [Range(0, 1_000_000)]
    public int ClientRequestsPerMinute { get; set; } = 1200;

    /// <summary>How long a client's old key keeps working once it has a new one (<c>msaas clients key</c>).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "90.00:00:00")]
    public TimeSpan KeyGracePeriod { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// How long the web page's sign-in lasts without use (its cookie's lifetime, renewed as the page is used). A client
    /// removed or a key past its grace period ends it at once, whatever this says.
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan SignInLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often the songs in each state are counted for the msaas_songs gauges.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan CensusInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary><see cref="TrustedProxies"/> as addresses and networks; call after validation.</summary>
    internal (IReadOnlyList<IPAddress> Proxies, IReadOnlyList<IPNetwork> Networks) ParsedTrustedProxies()
    {
        var proxies = new List<IPAddress>();
        var networks = new List<IPNetwork>();
        foreach (var entry in TrustedProxies)
        {
            if (IPAddress.TryParse(entry, out var address)) proxies.Add(address);
            else networks.Add(IPNetwork.Parse(entry));
        }
        return (proxies, networks);
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var entry in TrustedProxies)
        {
            // IPAddress alone would read "10" as 0.0.0.10: an address is written with its dots or colons.
            var written = entry.Contains('.') || entry.Contains(':');
            if (!written || (!IPAddress.TryParse(entry, out _) && !IPNetwork.TryParse(entry, out _)))
                yield return new ValidationResult($"'{entry}' is neither an IP address nor a network such as 10.0.0.0/8", [nameof(TrustedProxies)]);
            else if (IPNetwork.TryParse(entry, out var network) && network.PrefixLength == 0)
                yield return new ValidationResult($"'{entry}' would believe every address; list the proxies or their network", [nameof(TrustedProxies)]);
        }
    }
}
