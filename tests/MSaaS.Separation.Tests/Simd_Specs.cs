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

    [Fact]
    public void Should_multiply_and_accumulate_element_by_element_including_the_tail()
    {
        var a = Enumerable.Range(0, 19).Select(i => i * 0.5f).ToArray();
        var b = Enumerable.Range(0, 19).Select(i => 3f - i).ToArray();
        var product = new float[19];
        Simd.Multiply(a, b, product);
        var sum = Enumerable.Repeat(1f, 19).ToArray();
        Simd.MultiplyAdd(a, b, sum);
        for (var i = 0; i < 19; i++)
        {
            Assert.Equal(a[i] * b[i], product[i]);
            Assert.Equal(1f + a[i] * b[i], sum[i]);
        }
    }

    [Theory]
    [InlineData(3, float.NaN)]
    [InlineData(16, float.PositiveInfinity)]
    [InlineData(18, float.NegativeInfinity)]
    public void Should_find_a_value_that_is_not_finite_anywhere(int at, float value)
    {
        var values = Enumerable.Range(0, 19).Select(i => i * 1e30f).ToArray();
        Assert.True(Simd.AllFinite(values));
        values[at] = value;
        Assert.False(Simd.AllFinite(values));
    }

    [Fact]
    public void Should_divide_and_add_element_by_element_including_the_tail()
    {
        var a = Enumerable.Range(0, 21).Select(i => i * 0.25f).ToArray();
        var b = Enumerable.Range(0, 21).Select(i => i + 1f).ToArray();
        var quotient = new float[21];
        Simd.Divide(a, b, quotient);
        var sum = (float[])b.Clone();
        Simd.Add(a, sum);
        for (var i = 0; i < 21; i++)
        {
            Assert.Equal(a[i] / b[i], quotient[i]);
            Assert.Equal(b[i] + a[i], sum[i]);
        }
    }
}
