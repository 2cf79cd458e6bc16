using System.CommandLine;
using System.Diagnostics;
using MSaaS.Separation.Dsp;

namespace MSaaS.Cli.Bench;

/// <summary><c>msaas bench dsp</c>: cost of the spectrogram and its inverse for one model segment, on one thread.</summary>
internal static class DspBenchmark
{
    public static Command Create()
    {
        var rounds = new Option<int>("--rounds") { Description = "Segments to time", DefaultValueFactory = _ => 20 };
        var command = new Command("dsp", "Spectrogram and inverse STFT time per 7.8 s segment") { rounds };
        command.SetAction(result =>
        {
            var n = result.GetValue(rounds);
            var spectrogram = new HtDemucsSpectrogram();
            var wave = Enumerable.Range(0, HtDemucsSpectrogram.SegmentLength).Select(i => MathF.Sin(i * 0.01f)).ToArray();
            var re = new float[HtDemucsSpectrogram.PlaneLength];
            var im = new float[HtDemucsSpectrogram.PlaneLength];
            var back = new float[HtDemucsSpectrogram.SegmentLength];
            spectrogram.Forward(wave, re, im);
            spectrogram.Inverse(re, im, back);

            var forward = Stopwatch.StartNew();
            for (var i = 0; i < n; i++) spectrogram.Forward(wave, re, im);
            forward.Stop();
            var inverse = Stopwatch.StartNew();
            for (var i = 0; i < n; i++) spectrogram.Inverse(re, im, back);
            inverse.Stop();

            // The FFT alone, many rounds: one frame is microseconds.
            var fft = new RealFft(HtDemucsSpectrogram.NFft);
            var frame = wave.AsSpan(0, HtDemucsSpectrogram.NFft).ToArray();
            var bins = HtDemucsSpectrogram.NFft / 2 + 1;
            var (binsRe, binsIm) = (new float[bins], new float[bins]);
            var fftRounds = n * HtDemucsSpectrogram.Frames * 4;
            var fftForward = Stopwatch.StartNew();
            for (var i = 0; i < fftRounds; i++) fft.Forward(frame, binsRe, binsIm);
            fftForward.Stop();
            var fftInverse = Stopwatch.StartNew();
            for (var i = 0; i < fftRounds; i++) fft.Inverse(binsRe, binsIm, frame);
            fftInverse.Stop();

            var f = forward.Elapsed.TotalMilliseconds / n;
            var v = inverse.Elapsed.TotalMilliseconds / n;
            Console.WriteLine($"one channel of one segment (336 frames of 4096 points): spectrogram {f:F2} ms, inverse {v:F2} ms");
            Console.WriteLine($"per segment (2 spectrograms + 8 inverses), one thread: {2 * f + 8 * v:F1} ms; per frame, all included, about {(f + v) / 2 / HtDemucsSpectrogram.Frames * 1000:F1} us");
            Console.WriteLine($"4096-point real FFT alone ({fftRounds} rounds): forward {fftForward.Elapsed.TotalMicroseconds / fftRounds:F2} us, " +
                $"inverse {fftInverse.Elapsed.TotalMicroseconds / fftRounds:F2} us");
            return 0;
        });
        return command;
    }
}
