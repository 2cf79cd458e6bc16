namespace MSaaS.Separation.Onnx;

/// <summary>
/// A float32 tensor whose storage is a pinned managed array shared with ONNX Runtime (no copies either way).
/// Used for inputs and for pre-allocated outputs, so a run allocates nothing.
/// </summary>
public sealed unsafe class OrtTensor : IDisposable
{
    private const int ElementTypeFloat = 1; // ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT

    internal OrtTensor(OrtApi api, nint memoryInfo, long[] shape)
    {
        Shape = shape;
        long count = 1;
        foreach (var d in shape) count *= d;
        Data = GC.AllocateArray<float>(checked((int)count), pinned: true);
        nint value;
        fixed (long* dims = shape)
        fixed (float* data = Data)
        {
            api.Check(api.CreateTensorWithDataAsOrtValue(memoryInfo, (nint)data, (nuint)(count * sizeof(float)),
                dims, (nuint)shape.Length, ElementTypeFloat, &value));
        }
        Value = new OrtHandle(value, api.ReleaseValue);
    }

    public long[] Shape { get; }

    /// <summary>The tensor's elements in row-major order; pinned for the tensor's lifetime.</summary>
    public float[] Data { get; }

    internal OrtHandle Value { get; }

    public void Dispose() => Value.Dispose();
}
