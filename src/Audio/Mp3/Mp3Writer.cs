
namespace MSaaS.Audio.Mp3;

/// <summary>
/// Encodes stereo float samples to MP3 as they arrive, into a seekable stream. On <see cref="Complete"/> LAME's
/// Xing/LAME tag replaces the placeholder first frame: it carries the encoder delay and the padding, so decoders
/// trim them and the stem decodes to the input's exact length.
/// </summary>
public sealed unsafe class Mp3Writer : IDisposable
{
    /// <summary>Takes the MP3 bytes just written, whole frames, in the order of the stream.</summary>
    public delegate void BytesHandler(ReadOnlySpan<byte> mp3);

    private readonly Stream _output;
    private readonly BytesHandler? _written;
    private readonly long _start;
    private nint _lame;
    private byte[] _buffer = new byte[16 * 1024];
    private bool _completed;

    /// <param name="written">
    /// Told of the bytes of every frame as it is written, before the stream is complete (the first frame is the LAME
    /// tag's place, filled in on <see cref="Complete"/>; the tag itself is not told).
    /// </param>
    public Mp3Writer(Stream output, Mp3Options settings, BytesHandler? written = null)
    {
        _written = written;
        settings.Validate();
        if (!output.CanSeek) throw new ArgumentException("the MP3 stream must be seekable to write the LAME tag", nameof(output));
        _output = output;
        _start = output.Position;
        try
        {
            _lame = LameNative.lame_init();
        }
        catch (DllNotFoundException e)
        {
            throw new EncodingException("LAME (libmp3lame.so.0) is not installed: apt-get install libmp3lame0", e);
        }
        if (_lame == 0) throw new EncodingException("lame_init failed");
        Set(LameNative.lame_set_num_channels(_lame, 2), "lame_set_num_channels");
        Set(LameNative.lame_set_in_samplerate(_lame, settings.SampleRate), "lame_set_in_samplerate");
        Set(LameNative.lame_set_out_samplerate(_lame, settings.SampleRate), "lame_set_out_samplerate");
        Set(LameNative.lame_set_mode(_lame, LameNative.ModeJointStereo), "lame_set_mode");
        Set(LameNative.lame_set_quality(_lame, settings.Quality), "lame_set_quality");
        Set(LameNative.lame_set_bWriteVbrTag(_lame, 1), "lame_set_bWriteVbrTag");
        if (settings.VbrQuality is { } quality)
        {
            Set(LameNative.lame_set_VBR(_lame, LameNative.VbrDefault), "lame_set_VBR");
            Set(LameNative.lame_set_VBR_quality(_lame, quality), "lame_set_VBR_quality");
        }
        else
        {
            Set(LameNative.lame_set_VBR(_lame, LameNative.VbrOff), "lame_set_VBR");
            Set(LameNative.lame_set_brate(_lame, settings.BitrateKbps), "lame_set_brate");
        }
        if (LameNative.lame_init_params(_lame) < 0)
        {
            Dispose();
            throw new EncodingException($"LAME refused the settings {settings}");
        }
    }

    public void Write(ReadOnlySpan<float> left, ReadOnlySpan<float> right)
    {
        if (left.Length != right.Length) throw new ArgumentException("both channels must have the same length");
        ObjectDisposedException.ThrowIf(_lame == 0 || _completed, this);
        // LAME's worst case: 1.25 bytes a sample plus 7200.
        var needed = left.Length + left.Length / 4 + 7200;
        if (_buffer.Length < needed) _buffer = new byte[needed];
        int written;
        fixed (float* l = left)
        fixed (float* r = right)
        fixed (byte* mp3 = _buffer)
        {
            written = LameNative.lame_encode_buffer_ieee_float(_lame, l, r, left.Length, mp3, _buffer.Length);
        }
        Emit(written, "lame_encode_buffer_ieee_float");
    }

    /// <summary>Flushes the last frames and writes the LAME tag at the start.</summary>
    public void Complete()
    {
        ObjectDisposedException.ThrowIf(_lame == 0, this);
        if (_completed) return;
        int written;
        fixed (byte* mp3 = _buffer) written = LameNative.lame_encode_flush(_lame, mp3, _buffer.Length);
        Emit(written, "lame_encode_flush");

        var tag = new byte[4096];
        nuint size;
        fixed (byte* t = tag) size = LameNative.lame_get_lametag_frame(_lame, t, (nuint)tag.Length);
        if (size > (nuint)tag.Length) throw new EncodingException("the LAME tag did not fit its buffer");
        if (size > 0)
        {
            var end = _output.Position;
            _output.Position = _start;
            _output.Write(tag, 0, (int)size);
            _output.Position = end;
        }
        _output.Flush();
        _completed = true;
    }

    public void Dispose()
    {
        if (_lame == 0) return;
        _ = LameNative.lame_close(_lame); // nothing to do about a failed close
        _lame = 0;
    }

    private void Set(int result, string call)
    {
        if (result >= 0) return;
        Dispose();
        throw new EncodingException($"LAME refused {call} (error {result})");
    }

    private void Emit(int written, string call)
    {
        if (written < 0) throw new EncodingException($"{call} failed with LAME error {written}");
        _output.Write(_buffer, 0, written);
        if (written > 0) _written?.Invoke(_buffer.AsSpan(0, written));
    }
}
