using Google.Protobuf;
using PotPowerShell.Core.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>Tiny models built in code for evaluation tests.</summary>
internal static class TestModels
{
    /// <summary>y = x · W with x [batch, rows] and W [rows, cols] (row-major).</summary>
    public static byte[] MatMul(float[] w, int rows, int cols, object batch, string input = "x", string output = "y")
    {
        var g = new GraphBuilder("matmul");
        g.Input(input, batch, (long)rows);
        string wName = g.Initializer("W", w, rows, cols);
        var node = new global::Onnx.NodeProto { OpType = "MatMul", Name = "mm" };
        node.Input.Add(input);
        node.Input.Add(wName);
        node.Output.Add(output);
        g.Graph.Node.Add(node);
        g.Output(output, DataType.Float, batch, (long)cols);
        return g.Build().ToByteArray();
    }

    /// <summary>y = a + b, both [batch, n].</summary>
    public static byte[] Add(int n)
    {
        var g = new GraphBuilder("add");
        g.Input("a", "batch", (long)n);
        g.Input("b", "batch", (long)n);
        var node = new global::Onnx.NodeProto { OpType = "Add", Name = "add" };
        node.Input.Add("a");
        node.Input.Add("b");
        node.Output.Add("y");
        g.Graph.Node.Add(node);
        g.Output("y", DataType.Float, "batch", (long)n);
        return g.Build().ToByteArray();
    }

    /// <summary>y = x, any shape with a dynamic first axis (feeds raw 'logits' straight to adapters).</summary>
    public static byte[] Identity(params object[] dims)
    {
        var g = new GraphBuilder("identity");
        g.Input("x", dims);
        var node = new global::Onnx.NodeProto { OpType = "Identity", Name = "id" };
        node.Input.Add("x");
        node.Output.Add("y");
        g.Graph.Node.Add(node);
        g.Output("y", DataType.Float, dims);
        return g.Build().ToByteArray();
    }

    /// <summary>Plain x · W, computed in the test for expected values.</summary>
    public static float[] Multiply(float[] x, float[] w, int rows, int cols)
    {
        var y = new float[cols];
        for (int j = 0; j < cols; j++)
        {
            double s = 0;
            for (int i = 0; i < rows; i++) s += (double)x[i] * w[i * cols + j];
            y[j] = (float)s;
        }
        return y;
    }
}
