using System.Diagnostics.CodeAnalysis;

namespace MSaaS.Separation.Onnx;

/// <summary>The arithmetic the model's weight matrix products run in.</summary>
public enum OrtPrecision
{
    /// <summary>The model as it is: every weight float32.</summary>
    Fp32,

    /// <summary>
    /// Weight matrix products (MatMul and Gemm with a constant weight) on int8 weights quantized at prepare time and
    /// activations quantized at run time (<see cref="OnnxWeightQuantizer"/>); Conv and the rest stay float32. CPU only.
    /// </summary>
    [SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "int8 is the precision's name, as --precision and Separation:Precision take it")]
    Int8,
}
