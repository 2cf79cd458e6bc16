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
}
