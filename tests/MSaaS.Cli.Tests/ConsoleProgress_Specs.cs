namespace MSaaS.Cli.Tests;

/// <summary>Progress as a log shows it, where stderr is not a terminal.</summary>
public sealed class ConsoleProgress_Specs
{
    [Fact]
    public void Should_write_a_line_at_each_new_status_and_each_step_of_the_work_in_a_log()
    {
        using var log = new StringWriter();
        using (var progress = new ConsoleProgress(log, terminal: false))
        {
            progress.Update(0, "decoding");
            progress.Update(0, "separating");
            for (var done = 0.001; done < 0.2; done += 0.001) progress.Update(done, "separating");
            progress.Update(1, "done");
        }

        var lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["0", "0", "5", "10", "15", "100"], lines.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"\d+").Value));
        Assert.Matches(@"separating, \d+:\d\d elapsed, about \d+:\d\d left$", lines[4]);
        Assert.EndsWith("done, 0:00 elapsed", lines[^1]);
    }
}
