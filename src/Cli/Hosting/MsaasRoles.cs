namespace MSaaS.Cli.Hosting;

/// <summary>What one MSaaS process does. The embedded mode is all of it in one process.</summary>
[Flags]
public enum MsaasRoles
{
    None = 0,

    /// <summary>The REST API, the song saga and its deadline watcher.</summary>
    Api = 1,

    Separation = 2,
    Encoding = 4,
    Notifications = 8,
    All = Api | Separation | Encoding | Notifications,
}
