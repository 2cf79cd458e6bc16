using System.Globalization;
using System.Text.Json;

namespace MSaaS.Cli.Bench;

/// <summary>
/// ONNX Runtime's session profiles (Chrome traces, one per stage: <c>Separation:ProfileDirectory</c>) summed by
/// operator type: where a segment's time goes inside the model, and how fast its matrix products run.
/// </summary>
internal static class OrtProfileSummary
{
    // Operators whose time is matrix products (the issue's 334.9 GFLOP per segment are all theirs), as ONNX Runtime names
    // them after fusion and quantisation.
    private static readonly HashSet<string> MatrixProducts = new(StringComparer.Ordinal)
    {
        "Conv", "FusedConv", "NhwcFusedConv", "ConvTranspose", "MatMul", "FusedMatMul", "Gemm", "FusedGemm",
        "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QGemm", "MatMulNBits",
    };

    public sealed record Operator(string Name, double Seconds, long Calls);

    /// <summary>The kernel time of every operator type over every profile in <paramref name="directory"/>, the longest first.</summary>
    public static IReadOnlyList<Operator> Read(string directory)
    {
        var totals = new Dictionary<string, (double Seconds, long Calls)>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(directory, "*.json"))
        {
            using var stream = File.OpenRead(file);
            using var trace = JsonDocument.Parse(stream);
            foreach (var e in trace.RootElement.EnumerateArray())
            {
                // Each node run is three events: fence before, kernel time, fence after; the kernel's is the work.
                if (e.GetProperty("cat").GetString() != "Node" || e.GetProperty("name").GetString() is not { } name ||
                    !name.EndsWith("_kernel_time", StringComparison.Ordinal) ||
                    !e.TryGetProperty("args", out var args) || !args.TryGetProperty("op_name", out var op)) continue;
                var key = op.GetString() ?? "?";
                var (seconds, calls) = totals.GetValueOrDefault(key);
                totals[key] = (seconds + e.GetProperty("dur").GetDouble() / 1e6, calls + 1);
            }
        }
        return [.. totals.Select(t => new Operator(t.Key, t.Value.Seconds, t.Value.Calls)).OrderByDescending(o => o.Seconds)];
    }

    /// <summary>Prints the operators' time per model run and share, and the matrix products' rate.</summary>
    public static void Print(IReadOnlyList<Operator> operators, int runs, double gflopPerRun, TextWriter output)
    {
        var total = operators.Sum(o => o.Seconds);
        if (runs <= 0 || total <= 0)
        {
            output.WriteLine("profile: no operator events found");
            return;
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"profile: {runs} model runs, {total / runs:F2} s of operator time per run"));
        output.WriteLine("operator | per run (s) | share | calls per run | matrix product");
        foreach (var o in operators.Where(o => o.Seconds / total >= 0.002))
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{o.Name,-22} | {o.Seconds / runs,11:F3} | {o.Seconds / total,5:P1} | {(double)o.Calls / runs,13:F0} | {(MatrixProducts.Contains(o.Name) ? "yes" : "")}"));
        var products = operators.Where(o => MatrixProducts.Contains(o.Name)).Sum(o => o.Seconds) / runs;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"matrix products: {products:F2} s per run ({products * runs / total:P0} of operator time), {gflopPerRun / products:F0} GFLOP/s; " +
            $"everything else: {total / runs - products:F2} s per run"));
    }
}
