namespace MSaaS.Audio.Tests;

public class SignalRatio_Specs
{
    private static readonly float[] Tone = Enumerable.Range(0, 4410).Select(i => MathF.Sin(i * 0.05f)).ToArray();

    [Fact]
    public void Should_be_0_dB_for_silence_against_a_signal_and_6_dB_for_half_its_amplitude()
    {
        Assert.Equal(0, SignalRatio.Decibels([Tone], [new float[Tone.Length]]), 6);
        Assert.Equal(20 * Math.Log10(2), SignalRatio.Decibels([Tone], [Tone.Select(x => x / 2).ToArray()]), 4);
    }

    [Fact]
    public void Should_take_every_channel_together_over_their_common_length()
    {
        // One channel exact, the other silent: the error is half the signal's energy, 3 dB.
        Assert.Equal(10 * Math.Log10(2), SignalRatio.Decibels([Tone, Tone], [[.. Tone, 1f, 1f], new float[Tone.Length]]), 4);
        Assert.True(SignalRatio.Decibels([Tone], [Tone]) > 100);
        Assert.Throws<ArgumentException>(() => SignalRatio.Decibels([Tone, Tone], [Tone]));
    }
}
