using MSaaS.Cli.Bench;

namespace MSaaS.Cli.Tests.Bench;

/// <summary>`msaas bench worker`: the arrangements it measures, and arguments it refuses before loading anything.</summary>
[Collection("console")]
public class WorkerBenchmark_Specs
{
    [Theory]
    [InlineData("--arrangements", "2y1", "--arrangements: '2y1' is not <songs in parallel>x<threads per song>, e.g. 1x2,2x1")]
    [InlineData("--arrangements", "1x2,x1", "'x1' is not <songs in parallel>x<threads per song>")]
    [InlineData("--arrangements", "0x2", "--arrangements: '0x2': songs in parallel must be between 1 and 16")]
    [InlineData("--arrangements", "17x1", "songs in parallel must be between 1 and 16")]
    [InlineData("--arrangements", "1x0", "--arrangements: '1x0': threads per song must be between 1 and 1024")]
    [InlineData("--arrangements", ",", "--arrangements: none given")]
    [InlineData("--songs", "0", "--songs must be between 1 and 100")]
    [InlineData("--seconds", "0", "--seconds must be between 1 and 3600")]
    [InlineData("--repeat", "0", "--repeat must be between 1 and 20")]
    [InlineData("--threads", "2", "Unrecognized command or argument '--threads'")]
    public async Task Should_refuse_bad_arguments_with_the_reason_and_status_1(string option, string value, string reason)
    {
        var (code, stdout, stderr) = await CliRunner.Run("bench", "worker", option, value);

        Assert.Equal(1, code);
        Assert.Contains(reason, stderr);
        Assert.DoesNotContain("songs per run", stdout); // nothing was measured
    }

    [Fact]
    public void Should_read_arrangements_in_order_without_repeats()
    {
        var (arrangements, error) = WorkerArrangement.ParseList(" 1x2, 2x1 ,1x2,4x1");

        Assert.Null(error);
        Assert.Equal(["1x2", "2x1", "4x1"], arrangements.Select(a => a.ToString()));
    }

    [Fact]
    public void Should_compare_one_song_on_every_cpu_with_two_on_half_each_by_default()
    {
        var cpus = Environment.ProcessorCount;
        var expected = cpus == 1 ? ["1x1", "2x1"] : new[] { $"1x{cpus}", $"2x{cpus / 2}" };
        Assert.Equal(expected, WorkerArrangement.Defaults().Select(a => a.ToString()));
    }
}
