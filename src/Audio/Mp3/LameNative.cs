using System.Runtime.InteropServices;

namespace MSaaS.Audio.Mp3;

/// <summary>The entries of LAME 3.100's API (lame.h) that MSaaS uses; the library is Debian's libmp3lame.so.0.</summary>
internal static partial class LameNative
{
    private const string Library = "libmp3lame.so.0";

    public const int ModeJointStereo = 1; // MPEG_mode JOINT_STEREO
    public const int VbrOff = 0;          // vbr_mode vbr_off: CBR
    public const int VbrDefault = 4;      // vbr_mode vbr_mtrh

    [LibraryImport(Library)] public static partial nint lame_init();
    [LibraryImport(Library)] public static partial int lame_close(nint gfp);
    [LibraryImport(Library)] public static partial int lame_set_num_channels(nint gfp, int channels);
    [LibraryImport(Library)] public static partial int lame_set_in_samplerate(nint gfp, int rate);
    [LibraryImport(Library)] public static partial int lame_set_out_samplerate(nint gfp, int rate);
    [LibraryImport(Library)] public static partial int lame_set_brate(nint gfp, int kbps);
    [LibraryImport(Library)] public static partial int lame_set_mode(nint gfp, int mode);
    [LibraryImport(Library)] public static partial int lame_set_quality(nint gfp, int quality);
    [LibraryImport(Library)] public static partial int lame_set_VBR(nint gfp, int mode);
    [LibraryImport(Library)] public static partial int lame_set_VBR_quality(nint gfp, float quality);
    [LibraryImport(Library)] public static partial int lame_set_bWriteVbrTag(nint gfp, int write);
    [LibraryImport(Library)] public static partial int lame_init_params(nint gfp);

    [LibraryImport(Library)]
    public static unsafe partial int lame_encode_buffer_ieee_float(nint gfp, float* left, float* right, int samples, byte* mp3, int mp3Size);

    [LibraryImport(Library)] public static unsafe partial int lame_encode_flush(nint gfp, byte* mp3, int mp3Size);
    [LibraryImport(Library)] public static unsafe partial nuint lame_get_lametag_frame(nint gfp, byte* buffer, nuint size);
}
