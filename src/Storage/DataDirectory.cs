namespace MSaaS.Storage;

/// <summary>
/// Where MSaaS keeps its data by default (the local store, the embedded mode's sagas): <c>$XDG_DATA_HOME/msaas</c>,
/// else <c>~/.local/share/msaas</c>, as the XDG Base Directory rules say (a relative XDG_DATA_HOME is ignored).
/// The directory need not exist yet: whoever writes there makes it. Never the working directory.
/// </summary>
public static class DataDirectory
{
    /// <summary>The default data directory of this process; empty when neither XDG_DATA_HOME nor a home directory is known.</summary>
    public static string Default { get; } = Resolve(Environment.GetEnvironmentVariable,
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile, Environment.SpecialFolderOption.DoNotVerify));

    /// <summary>The data directory for these variables and this home directory (the user profile where HOME is unset).</summary>
    public static string Resolve(Func<string, string?> variable, string? profile)
    {
        if (OperatingSystem.IsWindows())
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "msaas");
        if (variable("XDG_DATA_HOME") is { Length: > 0 } xdg && Path.IsPathFullyQualified(xdg)) return Path.Combine(xdg, "msaas");
        var home = variable("HOME") is { Length: > 0 } h ? h : profile;
        return !string.IsNullOrEmpty(home) && Path.IsPathFullyQualified(home) ? Path.Combine(home, ".local", "share", "msaas") : "";
    }
}
