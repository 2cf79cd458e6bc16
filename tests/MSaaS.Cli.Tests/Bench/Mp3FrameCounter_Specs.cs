using MSaaS.Audio.Mp3;
using MSaaS.Cli.Bench;

namespace MSaaS.Cli.Tests.Bench;

/// <summary>`bench live` counts the audio of a live stem as it arrives, whether its first frame is the tag or its place.</summary>
public class Mp3FrameCounter_Specs
{
    [Fact]
    public void Should_count_the_audio_of_a_stem_in_any_chunks_leaving_out_the_tag_or_its_empty_place()
    {
        var live = new MemoryStream();
        var complete = new MemoryStream();
        using (var writer = new Mp3Writer(complete, new Mp3Options(), bytes => live.Write(bytes)))
        {
            var second = new float[44_100];
            for (var i = 0; i < second.Length; i++) second[i] = MathF.Sin(i * 0.05f) * 0.3f;
            writer.Write(second, second);
            writer.Write(second, second);
            writer.Complete();
        }

        foreach (var stem in new[] { live.ToArray(), complete.ToArray() })
        {
            var counter = new Mp3FrameCounter();
            foreach (var chunk in stem.Chunk(777)) counter.Add(chunk);
            // Two seconds, and LAME's delay and padding: at most two frames more (1152 samples each).
            Assert.InRange(counter.AudioSeconds, 2.0, 2.0 + 3 * 1152 / 44_100.0);
        }
    }

    [Fact]
    public void Should_refuse_what_is_not_an_mp3_frame() =>
        Assert.Throws<InvalidDataException>(() => new Mp3FrameCounter().Add("ID3 not a frame"u8));
}
