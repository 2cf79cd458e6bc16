namespace MSaaS.Audio;

/// <summary>How close one signal is to another, as the separation and MP3 figures of this project are stated.</summary>
public static class SignalRatio
{
    /// <summary>
    /// 10 log10(|reference|^2 / |reference - estimate|^2) over every channel, in dB: the SDR of a separated stem against
    /// the true one, or the SNR of a decoded MP3 against what was encoded. Channels are compared over their common length.
    /// </summary>
    public static double Decibels(IReadOnlyList<float[]> reference, IReadOnlyList<float[]> estimate)
    {
        if (reference.Count != estimate.Count) throw new ArgumentException($"{reference.Count} reference channels against {estimate.Count}");
        double signal = 0, error = 0;
        for (var c = 0; c < reference.Count; c++)
            for (var i = 0; i < Math.Min(reference[c].Length, estimate[c].Length); i++)
            {
                signal += (double)reference[c][i] * reference[c][i];
                var d = (double)reference[c][i] - estimate[c][i];
                error += d * d;
            }
        return 10 * Math.Log10(signal / (error + 1e-12));
    }
}
