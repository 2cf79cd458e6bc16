namespace MSaaS.Cli.Tests;

/// <summary>The minor page faults `bench separate` counts per segment, read from /proc/self/stat.</summary>
public class SeparationBenchmark_Specs
{
    [Theory]
    // pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt ...
    [InlineData("12345 (msaas) R 1 12345 12345 0 -1 4194560 511329 0 7 0 2401 409 0 0 20 0 25 0", 511329)]
    // A command name with spaces and parentheses: the fields start after the last ')'.
    [InlineData("77 (a) b (c)) S 1 77 77 0 -1 4194304 42 0 0 0 1 1 0 0 20 0 1 0", 42)]
    public void Should_read_the_minor_faults_field(string stat, long expected) =>
        Assert.Equal(expected, SeparationBenchmark.ParseMinorFaults(stat));

    [Fact]
    public void Should_read_this_process_minor_faults() =>
        Assert.True(SeparationBenchmark.MinorFaults() > 0);
}
