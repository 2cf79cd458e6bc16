using MSaaS.Cli.Bench;

namespace MSaaS.Cli.Tests.Bench;

/// <summary>
/// `bench separate`: the figures a measuring child hands over, and the minor page faults it counts per segment, read
/// from /proc/self/stat.
/// </summary>
[Collection("console")]
public class SeparationBenchmark_Specs
{
    [Fact]
    [Trait("Category", "Model")]
    public async Task Should_hand_over_the_figures_of_a_song_too_short_for_a_steady_segment()
    {
        // 10 s is two segments: no median of the rest (NaN), which plain JSON cannot carry; the parent read nothing
        // and `bench separate --durations 10` failed.
        var (code, stdout, stderr) = await CliRunner.Run("bench", "separate", "--single", "10", "--precision", "fp32");

        Assert.True(code == 0, stderr);
        var figures = System.Text.Json.JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal("NaN", figures.GetProperty("SteadySegment").GetString());
        Assert.True(figures.GetProperty("FirstSegment").GetDouble() > 0);
        // The first second of the stems comes after the decoding and before the end of the song.
        Assert.InRange(figures.GetProperty("FirstSecond").GetDouble(), figures.GetProperty("Decode").GetDouble(), figures.GetProperty("Wall").GetDouble());
        Assert.Equal(10, figures.GetProperty("Seconds").GetInt32());
        Assert.True(double.IsNaN(System.Text.Json.JsonSerializer.Deserialize<double[]>("[\"NaN\"]", BenchProcess.Json)![0]));
    }

    [Theory]
    // pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt ...
    [InlineData("12345 (msaas) R 1 12345 12345 0 -1 4194560 511329 0 7 0 2401 409 0 0 20 0 25 0", 511329)]
    // A command name with spaces and parentheses: the fields start after the last ')'.
    [InlineData("77 (a) b (c)) S 1 77 77 0 -1 4194304 42 0 0 0 1 1 0 0 20 0 1 0", 42)]
    public void Should_read_the_minor_faults_field(string stat, long expected) =>
        Assert.Equal(expected, BenchProcess.StatField(stat, 10));

    [Fact]
    public void Should_read_this_process_minor_faults() =>
        Assert.True(SeparationBenchmark.MinorFaults() > 0);
}
