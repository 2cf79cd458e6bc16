using MSaaS.Separation.Dsp;

namespace MSaaS.Separation.Tests;

public class Simd_Specs
{
    // 16 x 2048 and 2048 x 16 are the spectrogram's blocks; 12 x 20 takes the scalar path.
    [Theory]
    [InlineData(16, 2048, 2049, 336)]
    [InlineData(2048, 16, 336, 2049)]
    [InlineData(8, 8, 8, 8)]
    [InlineData(12, 20, 23, 13)]
    public void Should_transpose_any_matrix_into_strided_rows(int rows, int columns, int sourceStride, int destinationStride)
    {
        var random = new Random(rows * 31 + columns);
        var source = new float[(rows - 1) * sourceStride + columns];
        for (var i = 0; i < source.Length; i++) source[i] = (float)random.NextDouble();
        var destination = new float[(columns - 1) * destinationStride + rows + 5];
        Array.Fill(destination, -1f);

        Simd.Transpose(source, sourceStride, destination, destinationStride, rows, columns);

        for (var r = 0; r < rows; r++)
        for (var c = 0; c < columns; c++)
            Assert.Equal(source[r * sourceStride + c], destination[c * destinationStride + r]);
        // Nothing between the rows or past the end is written.
        var written = Enumerable.Range(0, columns).SelectMany(c => Enumerable.Range(c * destinationStride, rows)).ToHashSet();
        for (var i = 0; i < destination.Length; i++)
            if (!written.Contains(i)) Assert.Equal(-1f, destination[i]);
    }

    [Fact]
    public void Should_refuse_a_destination_too_short_for_the_matrix() =>
        Assert.Throws<ArgumentException>(() => Simd.Transpose(new float[64], 8, new float[63], 8, 8, 8));
}
