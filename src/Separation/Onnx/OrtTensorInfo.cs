namespace MSaaS.Separation.Onnx;

/// <summary>Name, element type and shape of one graph input or output (-1 for a dynamic dimension).</summary>
public sealed record OrtTensorInfo(string Name, int ElementType, IReadOnlyList<long> Shape)
{
    public override string ToString() => $"{Name}: type {ElementType} [{string.Join(", ", Shape)}]";
}
