using MSaaS.Audio;

namespace MSaaS.Synthesis;

/// <summary>
/// A song with known stems, made here: drums (kick, snare, hi-hats), a bass line, decaying piano-like chords and a
/// voice spoken by espeak-ng, at 120 beats per minute, 44.1 kHz stereo. The mix is the exact sum of the stems, so
/// separation quality can be scored against the truth (SDR). The same length and seed give the same samples
/// (with the same espeak-ng). Tests and benchmarks use it; it is nobody's recording, so it has no licence question.
/// </summary>
public sealed class SyntheticSong
{
    private const int Rate = Stems.SampleRate;
    private const double Beat = 0.5; // seconds, 120 bpm
    private const double Bar = 4 * Beat;

    // A minor, F, C, G: the chords (as MIDI notes) and each half bar's bass note.
    private static readonly int[][] ChordNotes = [[57, 60, 64], [53, 57, 60], [48, 52, 55], [55, 59, 62]];
    private static readonly int[][] BassLine = [[33, 40], [29, 36], [36, 31], [31, 38]];

    private static readonly string[] Lyrics =
    [
        "Every voice can find its own place",
        "Drums and bass will carry the night",
        "Sing it again and let it go",
        "Separate the song into four",
    ];

    private SyntheticSong(float[][][] stems)
    {
        StemPlanes = stems;
        var length = stems[0][0].Length;
        var mix = new float[Stems.Channels][];
        for (var c = 0; c < Stems.Channels; c++)
        {
            mix[c] = new float[length];
            foreach (var stem in stems)
                for (var i = 0; i < length; i++) mix[c][i] += stem[c][i];
        }
        Mix = new AudioBuffer(mix, Rate);
    }

    /// <summary>The mix: the sum of the four stems.</summary>
    public AudioBuffer Mix { get; }

    /// <summary>[stem][channel][sample], stems in <see cref="Stems.Names"/> order.</summary>
    public IReadOnlyList<float[][]> StemPlanes { get; }

    public AudioBuffer Stem(int index) => new(StemPlanes[index], Rate);

    /// <summary>Makes a song of <paramref name="seconds"/>; needs espeak-ng (Debian package espeak-ng) and ffmpeg.</summary>
    public static async Task<SyntheticSong> CreateAsync(double seconds = 20, int seed = 1, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(seconds, 1);
        var length = (int)Math.Round(seconds * Rate);
        var random = new Random(seed);
        var drums = Drums(length, random);
        var bass = Bass(length);
        var other = Chords(length);
        var vocals = await VoiceAsync(length, cancellationToken);
        return new SyntheticSong([drums, bass, other, vocals]);
    }

    /// <summary>Writes the mix as 16-bit WAV, and as MP3 too when <paramref name="mp3Path"/> is given (ffmpeg's LAME, 320 kbps).</summary>
    public async Task WriteMixAsync(string wavPath, string? mp3Path = null, CancellationToken cancellationToken = default)
    {
        using (var writer = new WavWriter(wavPath, Rate))
        {
            writer.Write(Mix.Channel(0), Mix.Channel(1));
            writer.Complete();
        }
        if (mp3Path is not null)
            await RunAsync("ffmpeg", ["-nostdin", "-v", "error", "-y", "-i", wavPath, "-c:a", "libmp3lame", "-b:a", "320k", mp3Path], cancellationToken);
    }

    private static float[][] Drums(int length, Random random)
    {
        var planes = NewPlanes(length);
        var beats = (int)Math.Ceiling(length / (double)Rate / Beat * 2);
        for (var eighth = 0; eighth < beats; eighth++)
        {
            var at = (int)(eighth * Beat / 2 * Rate);
            var beat = eighth / 2;
            if (eighth % 2 == 0 && beat % 2 == 0) Kick(planes, at);
            if (eighth % 2 == 0 && beat % 2 == 1) Snare(planes, at, random);
            HiHat(planes, at, random, accent: eighth % 2 == 0);
        }
        return planes;
    }

    // A sine falling from 150 Hz to 50 Hz, fading over a quarter second.
    private static void Kick(float[][] planes, int at)
    {
        var phase = 0.0;
        for (var i = 0; i < 0.4 * Rate; i++)
        {
            var t = i / (double)Rate;
            phase += 2 * Math.PI * (50 + 100 * Math.Exp(-t / 0.03)) / Rate;
            var v = (float)(0.5 * Math.Exp(-t / 0.12) * Math.Sin(phase));
            Add(planes, at + i, v, v);
        }
    }

    // Noise with a 185 Hz body, the noise a little wider than the body.
    private static void Snare(float[][] planes, int at, Random random)
    {
        for (var i = 0; i < 0.25 * Rate; i++)
        {
            var t = i / (double)Rate;
            var body = 0.15 * Math.Exp(-t / 0.05) * Math.Sin(2 * Math.PI * 185 * t);
            var noise = 0.2 * Math.Exp(-t / 0.07);
            Add(planes, at + i, (float)(body + noise * (random.NextDouble() * 2 - 1)), (float)(body + noise * (random.NextDouble() * 2 - 1)));
        }
    }

    // High-passed noise (a first difference), short, a little to the right.
    private static void HiHat(float[][] planes, int at, Random random, bool accent)
    {
        var previous = 0.0;
        var gain = accent ? 0.06 : 0.035;
        for (var i = 0; i < 0.06 * Rate; i++)
        {
            var t = i / (double)Rate;
            var noise = random.NextDouble() * 2 - 1;
            var v = gain * Math.Exp(-t / 0.015) * (noise - previous);
            previous = noise;
            Add(planes, at + i, (float)(0.7 * v), (float)v);
        }
    }

    // Each half bar's note with five harmonics, plucked: a short attack and a slow decay.
    private static float[][] Bass(int length)
    {
        var planes = NewPlanes(length);
        var halfBar = (int)(Bar / 2 * Rate);
        for (var (n, at) = (0, 0); at < length; n++, at += halfBar)
        {
            var frequency = Frequency(BassLine[n / 2 % BassLine.Length][n % 2]);
            for (var i = 0; i < halfBar; i++)
            {
                var t = i / (double)Rate;
                var envelope = Math.Min(1, t / 0.01) * Math.Exp(-t / 0.6) * Math.Min(1, (halfBar - i) / (0.01 * Rate));
                var v = 0.0;
                for (var k = 1; k <= 5; k++) v += Math.Sin(2 * Math.PI * k * frequency * t) / k;
                var sample = (float)(0.18 * envelope * v);
                Add(planes, at + i, sample, sample);
            }
        }
        return planes;
    }

    // One chord a bar, each note a decaying set of harmonics, the notes spread across the stereo field.
    private static float[][] Chords(int length)
    {
        var planes = NewPlanes(length);
        var bar = (int)(Bar * Rate);
        for (var (n, at) = (0, 0); at < length; n++, at += bar)
        {
            var chord = ChordNotes[n % ChordNotes.Length];
            for (var note = 0; note < chord.Length; note++)
            {
                var frequency = Frequency(chord[note] + 12);
                var pan = 0.5 + 0.3 * (note - 1);
                for (var i = 0; i < bar; i++)
                {
                    var t = i / (double)Rate;
                    var v = 0.0;
                    for (var k = 1; k <= 6; k++) v += Math.Exp(-t * k / 0.9) * Math.Sin(2 * Math.PI * k * frequency * t) / (k * k);
                    var sample = 0.07 * Math.Min(1, t / 0.003) * Math.Min(1, (bar - i) / (0.005 * Rate)) * v;
                    Add(planes, at + i, (float)(sample * (1 - pan) * 2), (float)(sample * pan * 2));
                }
            }
        }
        return planes;
    }

    // A phrase every two bars, from the second bar on, in the middle; each phrase at its own pitch.
    private static async Task<float[][]> VoiceAsync(int length, CancellationToken cancellationToken)
    {
        var planes = NewPlanes(length);
        var decoder = new FfmpegDecoder();
        var directory = Directory.CreateTempSubdirectory("msaas-voice-");
        try
        {
            var phrase = 0;
            for (var at = (int)(Bar * Rate); at < length; at += (int)(2 * Bar * Rate), phrase++)
            {
                var wav = Path.Combine(directory.FullName, $"{phrase}.wav");
                var pitch = 35 + 10 * (phrase % 3);
                await RunAsync("espeak-ng", ["-v", "en-us", "-s", "140", "-p", pitch.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "-w", wav, Lyrics[phrase % Lyrics.Length]], cancellationToken);
                var voice = await decoder.DecodeAsync(wav, Rate, 1, cancellationToken: cancellationToken);
                var samples = voice.Channel(0);
                var peak = samples.Max(MathF.Abs);
                var gain = peak > 0 ? 0.3f / peak : 0;
                for (var i = 0; i < samples.Length && at + i < length; i++) Add(planes, at + i, gain * samples[i], gain * samples[i]);
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
        return planes;
    }

    private static double Frequency(int midiNote) => 440 * Math.Pow(2, (midiNote - 69) / 12.0);

    private static void Add(float[][] planes, int at, float left, float right)
    {
        if (at >= planes[0].Length) return;
        planes[0][at] += left;
        planes[1][at] += right;
    }

    private static float[][] NewPlanes(int length) => [new float[length], new float[length]];

    private static async Task RunAsync(string program, IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var (exit, _) = await ExternalProgram.RunAsync(program, args, "to make the synthetic song", cancellationToken);
        if (exit.Code != 0) throw new InvalidOperationException($"{program} failed: {exit.Errors.Trim()}");
    }
}
