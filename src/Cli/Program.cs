using System.CommandLine;
using MSaaS.Cli;

var root = new RootCommand("MSaaS: music separation as a service. Separates songs into drums, bass, other and vocals.")
{
    SeparateCommand.Create(),
    BenchCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
