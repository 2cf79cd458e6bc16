using System.Diagnostics;

namespace MSaaS.Audio.Tests;

/// <summary>The one way MSaaS runs ffmpeg, ffprobe and espeak-ng: exit codes, errors, and no process left behind.</summary>
public class ExternalProgram_Specs
{
    [Fact]
    public async Task Should_return_the_exit_code_the_output_and_the_errors()
    {
        var (exit, output) = await ExternalProgram.RunAsync("sh", ["-c", "echo out; echo err >&2; exit 3"], "to test");

        Assert.Equal(3, exit.Code);
        Assert.Equal("out\n", output);
        Assert.Equal("err\n", exit.Errors);
    }

    [Fact]
    public async Task Should_say_what_to_install_when_the_program_is_missing()
    {
        var error = await Assert.ThrowsAsync<ProgramMissingException>(() => ExternalProgram.RunAsync("/nonexistent/ffprobe", [], "to probe audio"));

        Assert.StartsWith("/nonexistent/ffprobe is needed to probe audio and was not found", error.Message);
        Assert.EndsWith("install ffmpeg", error.Message);
    }

    [Fact]
    public async Task Should_kill_a_program_whose_output_reader_fails_and_throw_what_the_reader_threw()
    {
        var pid = new TaskCompletionSource<int>();
        var run = ExternalProgram.StreamAsync("sh", ["-c", "echo $$; exec cat /dev/zero"], "to test", async (stdout, token) =>
        {
            using var reader = new StreamReader(stdout);
            pid.SetResult(int.Parse((await reader.ReadLineAsync(token))!));
            throw new InvalidDataException("the reader gave up");
        });

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => run.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("the reader gave up", error.Message);
        Assert.True(Exited(await pid.Task), "the program still runs");
    }

    [Fact]
    public async Task Should_kill_a_program_when_the_caller_cancels()
    {
        using var cancel = new CancellationTokenSource();
        var pid = new TaskCompletionSource<int>();
        var run = ExternalProgram.StreamAsync("sh", ["-c", "echo $$; exec sleep 600"], "to test", async (stdout, token) =>
        {
            using var reader = new StreamReader(stdout);
            pid.SetResult(int.Parse((await reader.ReadLineAsync(token))!));
            await reader.ReadToEndAsync(token);
        }, cancel.Token);

        var running = await pid.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(Exited(running), "the program still runs");
    }

    // Killed and reaped: CliWrap returns only after the process is gone.
    private static bool Exited(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }
}
