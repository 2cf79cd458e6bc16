using MSaaS.Audio;
using MSaaS.Separation;

namespace MSaaS.Cli;

/// <summary>Turns failures into one line on stderr and an exit code, never a stack dump (MSAAS_DEBUG=1 shows it).</summary>
internal static class CliErrors
{
    public const int Failed = 1;
    public const int Cancelled = 130;

    public static async Task<int> Run(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("msaas: cancelled");
            return Cancelled;
        }
        catch (Exception e) when (e is AudioFormatException or SeparationException or MSaaS.Encoding.EncodingException or FileNotFoundException
                                      or DirectoryNotFoundException or ArgumentException or InvalidOperationException
                                      or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"msaas: error: {e.Message}");
            if (Environment.GetEnvironmentVariable("MSAAS_DEBUG") == "1") Console.Error.WriteLine(e);
            return Failed;
        }
    }
}
