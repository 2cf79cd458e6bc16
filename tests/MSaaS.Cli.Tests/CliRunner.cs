using System.CommandLine;

namespace MSaaS.Cli.Tests;

/// <summary>Runs the msaas command line in this process, capturing what it prints.</summary>
internal static class CliRunner
{
    public static async Task<(int Code, string Stdout, string Stderr)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            var parse = MsaasCommand.Create().Parse(args);
            var code = await parse.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr });
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }
}
