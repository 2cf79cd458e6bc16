using MSaaS.Audio;
using MSaaS.Separation;
using MSaaS.ServiceDefaults;
using MSaaS.Storage;
using MSaaS.Audio.Mp3;

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
        catch (Exception e) when (SettingError.Describe(e) is { } setting)
        {
            return Fail(setting, e);
        }
        catch (Exception e) when (e is AudioFormatException or SeparationException or EncodingException or FileNotFoundException
                                      or DirectoryNotFoundException or ArgumentException or InvalidOperationException
                                      or IOException or UnauthorizedAccessException or ObjectStoreException or TimeoutException)
        {
            return Fail(e.Message, e);
        }
        catch (Exception e)
        {
            // Not one of ours: still one line, with its kind, and the trace on request.
            return Fail($"{e.GetType().Name}: {e.Message}", e);
        }
    }

    private static int Fail(string reason, Exception e)
    {
        Console.Error.WriteLine($"msaas: error: {reason}");
        if (Environment.GetEnvironmentVariable("MSAAS_DEBUG") == "1") Console.Error.WriteLine(e);
        return Failed;
    }
}
