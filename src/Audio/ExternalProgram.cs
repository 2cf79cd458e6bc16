using System.ComponentModel;
using System.Text;
using CliWrap;

namespace MSaaS.Audio;

/// <summary>
/// Runs the programs MSaaS leans on (ffmpeg, ffprobe, espeak-ng) through CliWrap, the one place a process is started:
/// a program that is not installed is a <see cref="ProgramMissingException"/> saying what to install; a run that is
/// cancelled, or whose output reader fails, is killed; the exit code is the caller's to judge.
/// </summary>
public static class ExternalProgram
{
    /// <summary>How a run ended: its exit code and all it wrote on standard error.</summary>
    public sealed record Exit(int Code, string Errors);

    /// <summary>Runs <paramref name="program"/> to its end and returns its standard output as text.</summary>
    public static async Task<(Exit Exit, string Output)> RunAsync(string program, IEnumerable<string> args, string purpose,
        CancellationToken cancellationToken = default)
    {
        var output = new StringBuilder();
        var exit = await StreamAsync(program, args, purpose, PipeTarget.ToStringBuilder(output), cancellationToken);
        return (exit, output.ToString());
    }

    /// <summary>
    /// Runs <paramref name="program"/> with its standard output handed to <paramref name="read"/> as it is written. When
    /// <paramref name="read"/> throws, the program is killed and the exception is the caller's.
    /// </summary>
    public static Task<Exit> StreamAsync(string program, IEnumerable<string> args, string purpose,
        Func<Stream, CancellationToken, Task> read, CancellationToken cancellationToken = default) =>
        StreamAsync(program, args, purpose, PipeTarget.Create(read), cancellationToken);

    private static async Task<Exit> StreamAsync(string program, IEnumerable<string> args, string purpose, PipeTarget output,
        CancellationToken cancellationToken)
    {
        var errors = new StringBuilder();
        try
        {
            // CliWrap kills the program when the token is cancelled or a pipe's reader throws, and rethrows.
            var result = await Cli.Wrap(program).WithArguments(args)
                .WithStandardOutputPipe(output)
                .WithStandardErrorPipe(PipeTarget.ToStringBuilder(errors))
                .WithValidation(CommandResultValidation.None)
                .ExecuteAsync(cancellationToken);
            return new Exit(result.ExitCode, errors.ToString());
        }
        catch (Exception e) when (e is Win32Exception || e.InnerException is Win32Exception)
        {
            throw new ProgramMissingException(program, purpose, e.GetBaseException());
        }
    }
}

/// <summary>A program MSaaS needs could not be started: it is not installed, or not where it was said to be.</summary>
public sealed class ProgramMissingException : InvalidOperationException
{
    public ProgramMissingException(string program, string purpose, Exception inner)
        : base($"{program} is needed {purpose} and was not found ({inner.Message}); install {Package(program)}", inner)
    {
    }

    public ProgramMissingException()
    {
    }

    public ProgramMissingException(string message) : base(message)
    {
    }

    public ProgramMissingException(string message, Exception inner) : base(message, inner)
    {
    }

    private static string Package(string program) => Path.GetFileName(program) switch
    {
        "ffprobe" => "ffmpeg",
        var name => name,
    };
}
