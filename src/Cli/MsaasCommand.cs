using System.CommandLine;

namespace MSaaS.Cli;

/// <summary>The root of the msaas command line.</summary>
public static class MsaasCommand
{
    public static RootCommand Create() =>
        new("MSaaS: music separation as a service. Separates songs into drums, bass, other and vocals.")
        {
            SeparateCommand.Create(),
            PrepareCommand.Create(),
            ServeCommand.Create(),
            RunCommand.Create(),
            ClientsCommand.Create(),
#if WITH_BENCH
            Bench.BenchCommand.Create(),
#endif
        };
}
