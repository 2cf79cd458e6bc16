using System.CommandLine;

namespace MSaaS.Cli.Bench;

/// <summary><c>msaas bench ...</c>: benchmarks that print the figures docs/benchmarks.md records.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Measure speed and memory");
        bench.Subcommands.Add(SeparationBenchmark.Create());
        bench.Subcommands.Add(PrecisionBenchmark.Create());
        bench.Subcommands.Add(WorkerBenchmark.Create());
        bench.Subcommands.Add(DspBenchmark.Create());
        bench.Subcommands.Add(DecodeBenchmark.Create());
        bench.Subcommands.Add(EncodeBenchmark.Create());
        bench.Subcommands.Add(ApiLoadBenchmark.Create());
        bench.Subcommands.Add(LiveBenchmark.Create());
        bench.Subcommands.Add(StoreBenchmark.Create());
        return bench;
    }
}
