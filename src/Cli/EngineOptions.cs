using System.CommandLine;
using MSaaS.Separation;
using MSaaS.Separation.Onnx;

namespace MSaaS.Cli;

/// <summary>The options every command that runs the model shares.</summary>
internal sealed class EngineOptions
{
    private readonly Option<int> _shifts = new("--shifts") { Description = "Passes at random offsets, averaged (better, slower)", DefaultValueFactory = _ => 1 };
    private readonly Option<double> _overlap = new("--overlap") { Description = "Overlap between 7.8 s segments", DefaultValueFactory = _ => 0.25 };
    private readonly Option<bool> _noNormalize = new("--no-normalize") { Description = "Do not normalise the track before separating" };
    private readonly Option<FileInfo?> _model = new("--model") { Description = "An htdemucs ONNX model [default: the fetched htdemucs.onnx]" };
    private readonly Option<int> _threads = new("--threads") { Description = "ONNX Runtime intra-op threads; 0 = one per CPU this process may use (affinity and cgroup quota)", DefaultValueFactory = _ => 0 };
    private readonly Option<bool> _cuda = new("--cuda") { Description = "Run the model on the CUDA execution provider (a GPU build of msaas: -p:OrtFlavor=gpu)" };
    private readonly Option<int> _cudaDevice = new("--cuda-device") { Description = "CUDA device id", DefaultValueFactory = _ => 0 };
    private readonly Option<string?> _precision = new("--precision")
    {
        Description = "fp32, or int8 weight matrix products (CPU only; quantized and cached on first use) " +
                      (SeparationEngineOptions.DefaultCpuPrecision == OrtPrecision.Fp32
                          ? "[default: fp32; int8 on CPUs with VNNI, which this one lacks]"
                          : "[default: int8 on this CPU (it has VNNI), fp32 with --cuda]"),
    };

    public EngineOptions()
    {
        _shifts.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > 20) r.AddError("--shifts must be between 1 and 20"); });
        _overlap.Validators.Add(r => { if (r.GetValueOrDefault<double>() is < 0 or >= 1) r.AddError("--overlap must be at least 0 and below 1"); });
        _threads.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 0) r.AddError("--threads must not be negative"); });
        _precision.AcceptOnlyFromAmong("fp32", "int8");
    }

    /// <param name="threads">Offer --threads (a command that sets the threads itself leaves it out).</param>
    /// <param name="song">Offer how a song is separated (--shifts, --overlap, --no-normalize).</param>
    public void AddTo(Command command, bool threads = true, bool song = true)
    {
        foreach (var option in new Option[] { _shifts, _overlap, _noNormalize, _model, _threads, _cuda, _cudaDevice, _precision })
            if ((threads || option != _threads) && (song || (option != _shifts && option != _overlap && option != _noNormalize)))
                command.Options.Add(option);
    }

    /// <summary>The options as given on the command line, to pass on to a child process.</summary>
    public IEnumerable<string> ToArgs(ParseResult result)
    {
        foreach (var option in new Option[] { _shifts, _overlap, _noNormalize, _model, _threads, _cuda, _cudaDevice, _precision })
        {
            if (result.GetResult(option) is not { Implicit: false } given) continue;
            yield return option.Name;
            foreach (var token in given.Tokens) yield return token.Value;
        }
    }

    /// <summary>The engine's options as configuration keys ("Separation:..."), for a hosted pipeline.</summary>
    public IEnumerable<KeyValuePair<string, string?>> ToConfiguration(ParseResult result)
    {
        var engine = Engine(result);
        if (engine.ModelPath is not null) yield return new("Separation:ModelPath", engine.ModelPath);
        yield return new("Separation:Threads", engine.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture));
        yield return new("Separation:Cuda", engine.Cuda.ToString());
        yield return new("Separation:CudaDevice", engine.CudaDevice.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (engine.Precision is { } precision) yield return new("Separation:Precision", precision.ToString());
    }

    public SeparationOptions Options(ParseResult result) => new()
    {
        Shifts = result.GetValue(_shifts),
        Overlap = result.GetValue(_overlap),
        Normalize = !result.GetValue(_noNormalize),
    };

    public SeparationEngineOptions Engine(ParseResult result) => new()
    {
        ModelPath = result.GetValue(_model)?.FullName,
        Threads = result.GetValue(_threads),
        Cuda = result.GetValue(_cuda),
        CudaDevice = result.GetValue(_cudaDevice),
        Precision = result.GetValue(_precision) switch { "int8" => OrtPrecision.Int8, "fp32" => OrtPrecision.Fp32, _ => null },
    };
}
