namespace MSaaS.Audio.Mp3;

/// <summary>
/// Receives each stem's MP3 as LAME writes it, while the song is still separated: what a listener can play before the
/// stems are complete. Called on the encoder threads (for the song's first second, maybe on the separating thread:
/// <see cref="StemFileSink"/>; for the frames LAME holds to the end, on the thread that completes the sink), never at
/// once for one stem.
/// </summary>
public interface IMp3StemListener
{
    /// <param name="stem">The stem's index in <see cref="Stems.Names"/>.</param>
    /// <param name="mp3">
    /// The stem's next bytes, whole frames, following those told before. Together, from the first call on, they are the
    /// complete stem's bytes up to where they end, but for its first frame: the LAME tag's place, filled in when the
    /// stem is complete.
    /// </param>
    /// <param name="samplesIn">The samples of each channel given to LAME so far (the bytes lag them by LAME's delay).</param>
    void Encoded(int stem, ReadOnlySpan<byte> mp3, long samplesIn);

    /// <summary>
    /// The stem's samples up to where a segment of the separator's ended (<see cref="IStemSink.SegmentEnded"/>) are
    /// encoded and told: no more bytes of the stem come until the model has run again (or, after the song's last samples,
    /// until the stem is completed: the frames LAME held back). Told at the same <paramref name="samplesIn"/> for every
    /// stem.
    /// </summary>
    void SegmentEnded(int stem, long samplesIn)
    {
    }

    /// <summary>
    /// Completes once every stem's first audio has gone to the listeners (or never will: the listener gave up). The sink
    /// holds the separator back for it, a little, after the song's first samples, so that the model's next run does not
    /// take the CPUs from the encoders and the store while a listener waits for its first second.
    /// </summary>
    Task FirstAudioOut => Task.CompletedTask;
}
