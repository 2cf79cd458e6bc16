using System.CommandLine;
using MSaaS.Audio;
using MSaaS.Testing;

namespace MSaaS.Cli.Tests;

/// <summary>msaas separate, end to end through the real model, and its answers to bad input.</summary>
[Collection("console")]
[Trait("Category", "Model")]
public class SeparateCommand_Specs
{
    [Theory]
    [InlineData("mp3")]
    [InlineData("wav")]
    public async Task Should_write_four_stems_of_the_song_s_length_that_add_up_to_it(string format)
    {
        var output = Directory.CreateTempSubdirectory("msaas-cli-").FullName;
        var song = (await TestData.Song).Mp3;

        var (code, stdout, stderr) = await Run("separate", song, "--out", output, "--format", format);

        Assert.True(code == 0, stderr);
        Assert.Contains("real-time factor", stdout);
        var precision = MSaaS.Separation.SeparationEngineOptions.DefaultCpuPrecision == MSaaS.Separation.Onnx.OrtPrecision.Int8 ? "int8 weight matrix products" : "fp32";
        Assert.Contains($"htdemucs on ONNX Runtime {MSaaS.Separation.Onnx.OrtRuntime.Version} CPU build (CPUExecutionProvider, {precision}, ", stdout);
        var decoder = new FfmpegDecoder();
        var mix = await decoder.DecodeAsync(song);
        var sum = new double[2][] { new double[mix.Length], new double[mix.Length] };
        foreach (var stem in new[] { "drums", "bass", "other", "vocals" })
        {
            var path = Path.Combine(output, $"{stem}.{format}");
            Assert.True(File.Exists(path), $"{stem}.{format} is missing");
            var audio = await decoder.DecodeAsync(path);
            Assert.Equal((44_100, 2, mix.Length), (audio.SampleRate, audio.ChannelCount, audio.Length));
            for (var c = 0; c < 2; c++)
                for (var i = 0; i < mix.Length; i++) sum[c][i] += audio.Channel(c)[i];
        }
        Assert.Empty(Directory.GetFiles(output, "*.partial"));

        double signal = 0, error = 0;
        for (var c = 0; c < 2; c++)
            for (var i = 0; i < mix.Length; i++)
            {
                signal += mix.Channel(c)[i] * (double)mix.Channel(c)[i];
                error += (mix.Channel(c)[i] - sum[c][i]) * (mix.Channel(c)[i] - sum[c][i]);
            }
        var sdr = 10 * Math.Log10(signal / error);
        Assert.True(sdr > 15, $"the stems add up to the song only at {sdr:F1} dB");
    }

    [Theory]
    [InlineData("not audio at all", "not audio")]
    [InlineData("", "empty")]
    public async Task Should_fail_with_one_line_and_status_1_on_bad_input(string content, string reason)
    {
        var file = Path.Combine(Path.GetTempPath(), $"msaas-{Guid.NewGuid():N}.mp3");
        await File.WriteAllTextAsync(file, content);

        var (code, _, stderr) = await Run("separate", file, "--out", Path.Combine(Path.GetTempPath(), "never"));
        File.Delete(file);

        // Progress lines may come first (stderr is not a terminal here); the reason is one line, the last.
        Assert.Equal(1, code);
        var lines = stderr.Trim().Split('\n');
        Assert.StartsWith("msaas: error:", lines[^1]);
        Assert.Contains(reason, lines[^1]);
        Assert.Single(lines, l => l.Contains("error", StringComparison.Ordinal));
    }

    [Fact]
    public void Should_take_only_the_engines_and_the_encoders_settings_from_the_environment()
    {
        var environment = new System.Collections.Hashtable
        {
            ["MSAAS_Separation__Precision"] = "int8",
            ["MSAAS_Mp3__Quality"] = "3",
            ["MSAAS_Bus__Transport"] = "rabbitmq",
            ["MSAAS_Redis__Configuration"] = "127.0.0.1:6379",
            ["MSAAS_Storage__Kind"] = "s3",
            ["Separation__Threads"] = "1",
        };

        var settings = SeparateCommand.EngineSettings(environment);

        Assert.Equal(new Dictionary<string, string?> { ["Separation:Precision"] = "int8", ["Mp3:Quality"] = "3" }, settings);
    }

    [Fact]
    public async Task Should_refuse_a_missing_input()
    {
        var (code, _, stderr) = await Run("separate", "/no/such/song.mp3");
        Assert.Equal(1, code);
        Assert.Contains("not found", stderr);
    }

    [Theory]
    [InlineData("--shifts", "0", "--shifts must be between 1 and 20")]
    [InlineData("--overlap", "1", "--overlap must be at least 0 and below 1")]
    [InlineData("--threads", "-1", "--threads must not be negative")]
    [InlineData("--mp3-bitrate", "8", "--mp3-bitrate must be between 32 and 320")]
    [InlineData("--format", "ogg", "Argument 'ogg' not recognized")]
    [InlineData("--precision", "fp16", "Argument 'fp16' not recognized")]
    public async Task Should_refuse_options_out_of_range_before_reading_the_song(string option, string value, string reason)
    {
        // The song exists: the refusal can only come from the option, and nothing is separated.
        var output = TestData.Temp("never");
        var (code, stdout, stderr) = await Run("separate", (await TestData.Song).Mp3, "--out", output, option, value);

        Assert.Equal(1, code);
        Assert.Contains(reason, stderr);
        Assert.DoesNotContain("Separated", stdout);
        Assert.False(Directory.Exists(output));
    }

    private static Task<(int Code, string Stdout, string Stderr)> Run(params string[] args) => CliRunner.Run(args);
}
