namespace MSaaS.Cli.Tests;

/// <summary>A bad setting stops a service at start, with one line naming it, before it takes any work.</summary>
[Collection("console")]
public class Settings_Specs
{
    [Theory]
    [InlineData("--Separation:Threads=abc", "'abc' at 'Separation:Threads'")]
    [InlineData("--Separation:Threads=-2", "Separation:Threads:")]
    [InlineData("--Separation:SongsInParallel=0", "Separation:SongsInParallel: The field SongsInParallel must be between 1 and 16.")]
    [InlineData("--Webhooks:Timeout=-00:00:05", "Webhooks:Timeout:")]
    [InlineData("--Pipeline:MaxAttempts=0", "Pipeline:MaxAttempts:")]
    [InlineData("--Storage:Kind=s3 --Storage:S3:Endpoint=minio-without-scheme --Storage:S3:AccessKey=a --Storage:S3:SecretKey=b",
        "Storage:S3:Endpoint: 'minio-without-scheme' is not an http or https URL")]
    [InlineData("--Bus:Transport=kafka", "'kafka' at 'Bus:Transport'")]
    [InlineData("--Separation:Thredas=2", "'Thredas'")]
    [InlineData("--Separation:Precision=fp16", "'fp16' at 'Separation:Precision'")]
    [InlineData("--Separation:Cuda=true --Separation:Precision=int8", "Separation:Precision: int8 runs on the CPU only")]
    public async Task Should_refuse_to_start_with_one_line_naming_the_setting(string settings, string reason)
    {
        var (code, _, stderr) = await CliRunner.Run(["serve", "--urls", "http://127.0.0.1:0", .. settings.Split(' ')]);

        Assert.Equal(1, code);
        var lines = stderr.Trim().Split('\n');
        Assert.Single(lines, l => l.StartsWith("msaas: error:", StringComparison.Ordinal));
        Assert.StartsWith("msaas: error: invalid setting: ", lines[^1]);
        Assert.Contains(reason, lines[^1]);
        Assert.DoesNotContain("   at ", stderr); // no stack trace
    }
}
