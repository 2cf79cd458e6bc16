using MSaaS.Separation.Demucs;

namespace MSaaS.Separation.Tests;

/// <summary>A stand-in model whose stem s is its input times Gains[s]; it remembers what it was given.</summary>
internal sealed class ScalingModel(int segment) : ISegmentModel
{
    public static readonly float[] Gains = [0.1f, 0.2f, 0.3f, 0.4f];

    private readonly float[][] _input = [new float[segment], new float[segment]];
    private readonly float[][] _output = Enumerable.Range(0, 8).Select(_ => new float[segment]).ToArray();

    public List<float[]> Inputs { get; } = [];

    /// <summary>Called in each run with the number of runs so far, before the output is made.</summary>
    public Action<int>? OnRun { get; init; }

    public int SegmentLength => segment;

    public Span<float> Input(int channel) => _input[channel];

    public void Run(bool lastOfSong, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Inputs.Add((float[])_input[0].Clone());
        OnRun?.Invoke(Inputs.Count);
        for (var p = 0; p < 8; p++)
            for (var i = 0; i < segment; i++) _output[p][i] = _input[p % 2][i] * Gains[p / 2];
    }

    public ReadOnlySpan<float> Output(int stem, int channel) => _output[stem * 2 + channel];
}
