using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MSaaS.ServiceDefaults;

namespace MSaaS.Separation.Tests;

/// <summary>How many threads ONNX Runtime gets: an explicit setting, else the CPUs this process may use.</summary>
public class EngineThreads_Specs
{
    [Theory]
    [InlineData(0, 2, 2)]   // the default: every CPU the process may use
    [InlineData(0, 1, 1)]   // a 1-CPU quota or affinity
    [InlineData(0, 0, 1)]   // never fewer than one
    [InlineData(3, 2, 3)]   // an explicit setting wins, even above the CPUs
    [InlineData(1, 16, 1)]
    public void Should_take_the_setting_or_else_the_cpus_available(int configured, int available, int expected) =>
        Assert.Equal(expected, SeparationEngineOptions.ResolveThreads(configured, available));

    [Theory]
    [InlineData(0, 2, 1, 2)]   // one song: every CPU
    [InlineData(0, 2, 2, 1)]   // two songs on two CPUs: one thread each
    [InlineData(0, 16, 4, 4)]
    [InlineData(0, 3, 2, 1)]   // rounded down: together no more threads than CPUs
    [InlineData(0, 1, 2, 1)]   // never fewer than one
    [InlineData(3, 16, 2, 3)]  // an explicit setting is each song's, whatever the songs
    public void Should_share_the_cpus_among_the_songs_in_parallel(int configured, int available, int songs, int expected) =>
        Assert.Equal(expected, SeparationEngineOptions.ResolveThreads(configured, available, songs));

    [Fact]
    public void Should_give_each_song_its_share_of_the_processor_count()
    {
        var options = new SeparationEngineOptions { SongsInParallel = 2 };
        Assert.Equal(Math.Max(1, Environment.ProcessorCount / 2), options.ResolvedThreads);
        Assert.Equal(options.ResolvedThreads, options.Session.IntraOpThreads);
        Assert.Equal(1, new SeparationEngineOptions().SongsInParallel);
    }

    [Fact]
    public void Should_default_to_the_runtimes_processor_count()
    {
        // Environment.ProcessorCount already honours the affinity mask and the cgroup CPU quota (rounded up).
        Assert.Equal(Environment.ProcessorCount, new SeparationEngineOptions().ResolvedThreads);
        Assert.Equal(Environment.ProcessorCount, new SeparationEngineOptions().Session.IntraOpThreads);
        Assert.Equal(5, new SeparationEngineOptions { Threads = 5 }.Session.IntraOpThreads);
    }

    [Fact]
    public void Should_warm_up_and_keep_memory_by_default()
    {
        var options = new SeparationEngineOptions();
        Assert.True(options.WarmUp);
        Assert.False(options.ReleaseMemoryAfterSong);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("17")]
    public void Should_refuse_songs_in_parallel_out_of_range(string value)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Bind("SongsInParallel", value));
        Assert.Contains("Separation:SongsInParallel: The field SongsInParallel must be between 1 and 16.", error.Message);
    }

    [Theory]
    [InlineData("1", 1)]
    [InlineData("16", 16)]
    public void Should_take_songs_in_parallel_in_range(string value, int expected) =>
        Assert.Equal(expected, Bind("SongsInParallel", value).SongsInParallel);

    [Fact]
    public void Should_refuse_a_precision_given_as_a_number_that_names_none()
    {
        // The binder takes "2" as (OrtPrecision)2: it would run fp32 under another cache name, unannounced.
        var error = Assert.Throws<OptionsValidationException>(() => Bind("Precision", "2"));
        Assert.Contains("Separation:Precision:", error.Message);
        Assert.Equal(MSaaS.Separation.Onnx.OrtPrecision.Int8, Bind("Precision", "int8").Precision);
    }

    [Fact]
    public void Should_refuse_to_release_the_shared_arena_after_each_of_several_songs_in_parallel()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Bind(("ReleaseMemoryAfterSong", "true"), ("SongsInParallel", "2")));
        Assert.Contains("Separation:ReleaseMemoryAfterSong: ReleaseMemoryAfterSong shrinks the arena all songs share", error.Message);
        Assert.True(Bind(("ReleaseMemoryAfterSong", "true"), ("SongsInParallel", "1")).ReleaseMemoryAfterSong);
    }

    private static SeparationEngineOptions Bind(string key, string value) => Bind((key, value));

    // As a service binds and checks the section at start.
    private static SeparationEngineOptions Bind(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>($"Separation:{s.Key}", s.Value))).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
        services.AddValidatedOptions<SeparationEngineOptions>(SeparationEngineOptions.Section);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<SeparationEngineOptions>>().Value;
    }
}
