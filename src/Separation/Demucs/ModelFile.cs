using System.Globalization;
using System.Security.Cryptography;

namespace MSaaS.Separation.Demucs;

/// <summary>Checks that a model file is the one expected, by sha256.</summary>
internal static class ModelFile
{
    /// <summary>
    /// Throws unless <paramref name="path"/> exists and hashes to <paramref name="sha256"/>. A "&lt;path&gt;.verified"
    /// stamp (size, mtime and hash, as eng/fetch-assets.sh writes it) saves re-hashing an unchanged file.
    /// </summary>
    public static void Verify(string path, string? sha256)
    {
        if (!File.Exists(path))
            throw new SeparationException($"model not found at {path}; run eng/fetch-assets.sh (./msaas does it for you) or pass --model");
        if (sha256 is null) return;

        var info = new FileInfo(path);
        var stamp = string.Create(CultureInfo.InvariantCulture,
            $"{info.Length} {new DateTimeOffset(info.LastWriteTimeUtc).ToUnixTimeSeconds()} {sha256}");
        var stampPath = path + ".verified";
        if (File.Exists(stampPath) && File.ReadAllText(stampPath).Trim() == stamp) return;

        using var stream = File.OpenRead(path);
        var actual = Convert.ToHexStringLower(SHA256.HashData(stream));
        if (!string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase))
            throw new SeparationException($"{path} is not the expected model: sha256 {actual}, expected {sha256}");
        try
        {
            File.WriteAllText(stampPath, stamp + "\n");
        }
        catch (IOException)
        {
            // A read-only cache only costs a re-hash next time.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
