namespace MSaaS.Audio.Tests;

public class WavWriter_Specs
{
    [Fact]
    public async Task Should_write_a_wav_that_decodes_to_the_same_samples()
    {
        var path = TestFiles.Temp("out.wav");
        var left = TestFiles.Sine(10_000, 0.01);
        var right = TestFiles.Sine(10_000, 0.02, 0.25f);
        using (var writer = new WavWriter(path, 44_100))
        {
            writer.Write(left.AsSpan(0, 4000), right.AsSpan(0, 4000));
            writer.Write(left.AsSpan(4000), right.AsSpan(4000));
            writer.Complete();
        }

        var audio = await new FfmpegDecoder().DecodeAsync(path);

        Assert.Equal(10_000, audio.Length);
        for (var i = 0; i < 10_000; i++)
        {
            // 16-bit: within one quantisation step.
            Assert.True(Math.Abs(left[i] - audio.Channel(0)[i]) < 1.0 / 32767, $"left[{i}]");
            Assert.True(Math.Abs(right[i] - audio.Channel(1)[i]) < 1.0 / 32767, $"right[{i}]");
        }
    }

    [Fact]
    public void Should_leave_nothing_under_the_final_name_unless_completed()
    {
        var path = TestFiles.Temp("abandoned.wav");
        using (var writer = new WavWriter(path, 44_100))
        {
            writer.Write(new float[100], new float[100]);
        }
        Assert.False(File.Exists(path));
        Assert.False(File.Exists(path + ".partial"));
    }

    [Fact]
    public void Should_store_every_sample_as_the_scalar_conversion_does()
    {
        // Out-of-range values, exact ties between two steps and a length that is not a multiple of eight, so
        // both the eight-frame path and the tail are covered.
        var random = new Random(5);
        var left = Enumerable.Range(0, 203).Select(i => (float)(random.NextDouble() * 2.4 - 1.2)).ToArray();
        var right = Enumerable.Range(0, 203).Select(i => (i - 100 + 0.5f) / short.MaxValue).ToArray();
        var path = TestFiles.Temp("exact.wav");
        using (var writer = new WavWriter(path, 44_100))
        {
            writer.Write(left, right);
            writer.Complete();
        }

        var bytes = File.ReadAllBytes(path);
        Assert.Equal(44 + 203 * 4, bytes.Length);
        for (var i = 0; i < 203; i++)
        {
            Assert.Equal(WavWriter.ToPcm16(left[i]), BitConverter.ToInt16(bytes, 44 + 4 * i));
            Assert.Equal(WavWriter.ToPcm16(right[i]), BitConverter.ToInt16(bytes, 46 + 4 * i));
        }
    }

    [Theory]
    [InlineData(2f, short.MaxValue)]
    [InlineData(-2f, -short.MaxValue)]
    [InlineData(0.5f, 16384)]
    public void Should_clamp_to_16_bits(float sample, short expected) => Assert.Equal(expected, WavWriter.ToPcm16(sample));
}
