using System.Globalization;
using MSaaS.Cli.Bench;

namespace MSaaS.Cli.Tests.Bench;

/// <summary>`bench decode`: a row per run with the samples it decoded, and the processor times read from /proc/self/stat.</summary>
[Collection("console")]
public class DecodeBenchmark_Specs
{
    [Fact]
    public async Task Should_print_a_row_for_each_run_of_the_song_looped_to_the_length_asked()
    {
        var (code, stdout, stderr) = await CliRunner.Run("bench", "decode", "--seconds", "30", "--runs", "2");

        Assert.True(code == 0, stderr);
        var rows = stdout.Split('\n').Where(l => l.Split('|').Length == 5 && int.TryParse(l.Split('|')[0], out _)).ToList();
        Assert.Equal(2, rows.Count);
        foreach (var row in rows)
        {
            var cells = row.Split('|').Select(c => c.Trim()).ToArray();
            Assert.True(double.Parse(cells[1], CultureInfo.InvariantCulture) > 0, row);
            // Looped by whole MP3 frames (1152 samples) to 30 s: within two frames of it.
            Assert.InRange(long.Parse(cells[4], CultureInfo.InvariantCulture), 30 * 44_100 - 2304, 30 * 44_100 + 2304);
        }
    }

    [Theory]
    [InlineData("--runs", "0")]
    [InlineData("--seconds", "0")]
    public async Task Should_refuse_a_count_below_one(string option, string value)
    {
        var (code, _, stderr) = await CliRunner.Run("bench", "decode", option, value);

        Assert.NotEqual(0, code);
        Assert.Contains($"{option} must be at least 1", stderr);
    }

    [Fact]
    public async Task Should_refuse_an_input_that_does_not_exist()
    {
        var (code, _, stderr) = await CliRunner.Run("bench", "decode", "--input", "/no/such/song.mp3");

        Assert.NotEqual(0, code);
        Assert.Contains("File does not exist: '/no/such/song.mp3'", stderr);
        Assert.DoesNotContain("   at ", stderr); // a reason, not a stack trace
    }

    [Fact]
    public void Should_read_the_processor_time_fields_of_a_stat_line()
    {
        // pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
        const string stat = "12345 (dotnet) S 1 12345 12345 0 -1 4194560 511329 0 7 0 2401 409 37 12 20 0 25 0";

        Assert.Equal([2401L, 409, 37, 12], new[] { 14, 15, 16, 17 }.Select(f => BenchProcess.StatField(stat, f)));
    }
}
