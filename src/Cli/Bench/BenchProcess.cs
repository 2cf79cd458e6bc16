using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MSaaS.Cli.Bench;

/// <summary>
/// What the model benchmarks share: a measurement run in a child process of its own, so that its peak resident memory
/// is its own, and this process's memory and load as Linux reports them.
/// </summary>
internal static class BenchProcess
{
    /// <summary>
    /// How a child hands its figures over: JSON in which a figure it has none of (NaN: the median of the segments after
    /// the second, for a song of two) is written as "NaN", which plain JSON numbers cannot be.
    /// </summary>
    public static readonly JsonSerializerOptions Json = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>Prints a child's figures as the one JSON line <see cref="RunChildAsync{T}"/> reads.</summary>
    public static void Report<T>(T figures) => Console.WriteLine(JsonSerializer.Serialize(figures, Json));

    /// <summary>Runs this program with <paramref name="args"/> and reads the last line it prints as a <typeparamref name="T"/> in JSON.</summary>
    public static async Task<T> RunChildAsync<T>(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var self = Environment.ProcessPath!;
        var info = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") info.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var child = Process.Start(info)!;
        var output = await child.StandardOutput.ReadToEndAsync(cancellationToken);
        await child.WaitForExitAsync(cancellationToken);
        if (child.ExitCode != 0) throw new InvalidOperationException($"benchmark run failed (exit {child.ExitCode})");
        return JsonSerializer.Deserialize<T>(output.Trim().Split('\n')[^1], Json)!;
    }

    /// <summary>Peak resident memory (VmHWM) of this process, or of process <paramref name="pid"/>, MiB.</summary>
    public static double PeakMiB(int? pid = null) => StatusMiB(pid, "VmHWM:");

    /// <summary>Resident memory now (VmRSS) of this process, or of process <paramref name="pid"/>, MiB.</summary>
    public static double ResidentMiB(int? pid = null) => StatusMiB(pid, "VmRSS:");

    /// <summary>The 1-minute load average (/proc/loadavg), NaN where there is none.</summary>
    public static double LoadAverage() =>
        File.Exists("/proc/loadavg") ? double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture) : double.NaN;

    /// <summary>
    /// Field <paramref name="field"/> (numbered from 1, as proc(5) does) of a /proc/[pid]/stat line: the fields after
    /// the command name are counted from its last ')', as the name may hold spaces and parentheses.
    /// </summary>
    public static long StatField(string stat, int field)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(field, 3);
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[field - 3], CultureInfo.InvariantCulture);
    }

    public static string RuntimeText =>
        $"{System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription} on {System.Runtime.InteropServices.RuntimeInformation.OSDescription}";

    private static double StatusMiB(int? pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid?.ToString(CultureInfo.InvariantCulture) ?? "self"}/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return double.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
        return double.NaN;
    }
}
