using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace MSaaS.Api.Clients;

/// <summary>A client of the service (a business): its name, its API keys (as hashes) and its limits.</summary>
public sealed record ServiceClient
{
    /// <summary>
    /// What its songs and usage are kept under: random, never reused, so that a client added later under a removed
    /// one's name starts with nothing of it.
    /// </summary>
    public required string Id { get; init; }

    public required string Name { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Its keys, newest first. A key replaced by a newer one works until its <see cref="ClientKey.ExpiresAt"/>.</summary>
    public IReadOnlyList<ClientKey> Keys { get; init; } = [];

    /// <summary>Minutes of audio it may send in a calendar month (UTC); null: no limit.</summary>
    public int? MinutesPerMonth { get; init; }

    /// <summary>Its songs that may be in flight at once; null: no limit.</summary>
    public int? SongsInFlight { get; init; }

    /// <summary>Whether <paramref name="hash"/> is one of its keys that works at <paramref name="now"/>.</summary>
    public bool Accepts(string hash, DateTimeOffset now) => Keys.Any(k => k.Hash == hash && (k.ExpiresAt is not { } end || now < end));
}

/// <summary>One API key: its SHA-256 (never the key), the first characters to tell it by, and when it stops working.</summary>
public sealed record ClientKey(string Hash, string Hint, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt = null);

/// <summary>Client names and keys: what they look like, how keys are made and hashed.</summary>
public static partial class ClientKeys
{
    public const string Prefix = "msk_";

    /// <summary>The client anonymous requests count as when <see cref="ApiOptions.Clients"/> is "both".</summary>
    public const string Anonymous = "anonymous";

    /// <summary>A new key: 256 random bits, base64url, after <see cref="Prefix"/> (so that secret scanners can find a leaked one).</summary>
    public static string New() => Prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary>
    /// What is stored of a key. SHA-256 and no salt suffice: the key is 256 random bits, so no table or guessing finds
    /// it, and a lookup by hash needs the same hash for the same key.
    /// </summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>The key's first characters, shown in lists so that a client can tell its keys apart.</summary>
    public static string Hint(string key) => key[..Math.Min(key.Length, Prefix.Length + 4)] + "…";

    /// <summary>Why <paramref name="name"/> cannot name a client, or null.</summary>
    public static string? NameProblem(string name) =>
        !NamePattern().IsMatch(name) ? "a client's name is 1-63 lower-case letters, digits and '-', starting with a letter or digit"
        : name == Anonymous ? $"'{Anonymous}' is the name anonymous requests count as"
        : null;

    /// <summary>A new <see cref="ServiceClient.Id"/>.</summary>
    public static string NewId() => "c" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    // \z, not $: "$" would also match before a final newline.
    [GeneratedRegex(@"^[a-z0-9][a-z0-9-]{0,62}\z")]
    private static partial Regex NamePattern();
}
