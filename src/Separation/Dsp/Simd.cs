using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MSaaS.Separation.Dsp;

/// <summary>
/// The spectrogram's transposes between frame order and the model's [bin, frame] planes. (Element-wise span
/// arithmetic comes from System.Numerics.Tensors' TensorPrimitives.)
/// </summary>
internal static class Simd
{
    private const int Width = 8;

    /// <summary>
    /// destination[c * destinationStride + r] = source[r * sourceStride + c] for r &lt; rows, c &lt; columns:
    /// 8 x 8 tiles transposed in registers when both counts are multiples of 8 and AVX is there.
    /// </summary>
    public static void Transpose(ReadOnlySpan<float> source, int sourceStride, Span<float> destination, int destinationStride,
        int rows, int columns)
    {
        if (rows <= 0 || columns <= 0) return;
        if (sourceStride < columns || destinationStride < rows ||
            source.Length < (long)(rows - 1) * sourceStride + columns ||
            destination.Length < (long)(columns - 1) * destinationStride + rows)
            throw new ArgumentException("the strides or lengths do not hold the matrix");

        if (!Avx.IsSupported || rows % Width != 0 || columns % Width != 0)
        {
            for (var r = 0; r < rows; r++)
            for (var c = 0; c < columns; c++)
                destination[c * destinationStride + r] = source[r * sourceStride + c];
            return;
        }

        ref var src = ref MemoryMarshal.GetReference(source);
        ref var dst = ref MemoryMarshal.GetReference(destination);
        for (var r = 0; r < rows; r += Width)
        for (var c = 0; c < columns; c += Width)
        {
            var at = (nuint)(r * sourceStride + c);
            var stride = (nuint)sourceStride;
            var r0 = Vector256.LoadUnsafe(ref src, at);
            var r1 = Vector256.LoadUnsafe(ref src, at + stride);
            var r2 = Vector256.LoadUnsafe(ref src, at + 2 * stride);
            var r3 = Vector256.LoadUnsafe(ref src, at + 3 * stride);
            var r4 = Vector256.LoadUnsafe(ref src, at + 4 * stride);
            var r5 = Vector256.LoadUnsafe(ref src, at + 5 * stride);
            var r6 = Vector256.LoadUnsafe(ref src, at + 6 * stride);
            var r7 = Vector256.LoadUnsafe(ref src, at + 7 * stride);

            // Pairs of rows interleaved, then quads, within each 128-bit half; then the halves exchanged.
            var t0 = Avx.UnpackLow(r0, r1);
            var t1 = Avx.UnpackHigh(r0, r1);
            var t2 = Avx.UnpackLow(r2, r3);
            var t3 = Avx.UnpackHigh(r2, r3);
            var t4 = Avx.UnpackLow(r4, r5);
            var t5 = Avx.UnpackHigh(r4, r5);
            var t6 = Avx.UnpackLow(r6, r7);
            var t7 = Avx.UnpackHigh(r6, r7);
            var u0 = Avx.Shuffle(t0, t2, 0x44);
            var u1 = Avx.Shuffle(t0, t2, 0xEE);
            var u2 = Avx.Shuffle(t1, t3, 0x44);
            var u3 = Avx.Shuffle(t1, t3, 0xEE);
            var u4 = Avx.Shuffle(t4, t6, 0x44);
            var u5 = Avx.Shuffle(t4, t6, 0xEE);
            var u6 = Avx.Shuffle(t5, t7, 0x44);
            var u7 = Avx.Shuffle(t5, t7, 0xEE);

            var to = (nuint)(c * destinationStride + r);
            var step = (nuint)destinationStride;
            Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref dst, to);
            Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref dst, to + step);
            Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref dst, to + 2 * step);
            Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref dst, to + 3 * step);
            Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref dst, to + 4 * step);
            Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref dst, to + 5 * step);
            Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref dst, to + 6 * step);
            Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref dst, to + 7 * step);
        }
    }
}
