using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// Layers cut out of a quantized (QDQ) model, side by side in one small model, for FastBiasCorrection: each gets its
/// own float input feeding the layer's input QuantizeLinear -> DequantizeLinear pair, its constant weight and bias
/// sub-graphs (DQ nodes and initializers), and the layer itself, whose raw output becomes a graph output. Running all
/// of them in one session costs one session and one inference for the whole model.
/// </summary>
internal sealed class LayerProbe
{
    private readonly ModelProto _model;
    private readonly string[] _inputs;
    private readonly string[] _outputs;

    private LayerProbe(ModelProto model, string[] inputs, string[] outputs)
    {
        _model = model;
        _inputs = inputs;
        _outputs = outputs;
    }

    public ModelProto Model => _model;

    /// <param name="layers">Each layer's node and, for a MatMul whose bias sits in a following Add, that Add node.</param>
    public static LayerProbe Build(ModelProto quantized, IReadOnlyList<(string Node, string? BiasNode)> layers, IReadOnlyList<long[]> inputShapes)
    {
        var source = quantized.Graph;
        var byName = source.Node.Where(n => n.Name.Length > 0).ToDictionary(n => n.Name, StringComparer.Ordinal);
        var producer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var n in source.Node) foreach (var o in n.Output) if (o.Length > 0) producer[o] = n;
        var initializers = source.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);

        var graph = new GraphProto { Name = "bias_correction_probe" };
        var usedInitializers = new SortedSet<string>(StringComparer.Ordinal);
        var inputs = new string[layers.Count];
        var outputs = new string[layers.Count];
        for (int k = 0; k < layers.Count; k++)
        {
            if (!byName.TryGetValue(layers[k].Node, out var layer))
                throw new ArgumentException($"The quantized model has no node '{layers[k].Node}'.");
            string prefix = $"probe{k}/";
            inputs[k] = prefix + "input";
            outputs[k] = prefix + "output";
            var copied = new Dictionary<string, string>(StringComparer.Ordinal);

            string Rename(string t) => t.Length == 0 || initializers.ContainsKey(t) ? t : prefix + t;

            void CopyNode(NodeProto n, string? replaceInput0 = null)
            {
                var copy = n.Clone();
                copy.Name = prefix + n.Name;
                for (int i = 0; i < copy.Input.Count; i++)
                {
                    if (i == 0 && replaceInput0 != null) { copy.Input[0] = replaceInput0; continue; }
                    if (initializers.ContainsKey(copy.Input[i])) usedInitializers.Add(copy.Input[i]);
                    copy.Input[i] = Rename(copy.Input[i]);
                }
                for (int i = 0; i < copy.Output.Count; i++) copy.Output[i] = Rename(copy.Output[i]);
                graph.Node.Add(copy);
            }

            // Constant inputs (weights, bias, scales): initializers directly, or the nodes computing them from initializers.
            string Constant(string t)
            {
                if (t.Length == 0) return t;
                if (initializers.ContainsKey(t)) { usedInitializers.Add(t); return t; }
                if (copied.TryGetValue(t, out var done)) return done;
                if (!producer.TryGetValue(t, out var p))
                    throw new InvalidOperationException($"Input '{t}' of layer '{layer.Name}' is not constant.");
                foreach (var i in p.Input) Constant(i);
                CopyNode(p);
                foreach (var o in p.Output) copied[o] = Rename(o);
                return Rename(t);
            }

            // The activation input: Q -> DQ re-fed from the probe input, or the probe input itself if not quantized.
            string x = layer.Input[0];
            string layerInput = inputs[k];
            if (producer.TryGetValue(x, out var dq) && dq.OpType == "DequantizeLinear"
                && producer.TryGetValue(dq.Input[0], out var q) && q.OpType == "QuantizeLinear")
            {
                foreach (var i in q.Input.Skip(1)) Constant(i);
                foreach (var i in dq.Input.Skip(1)) Constant(i);
                CopyNode(q, inputs[k]);
                CopyNode(dq, Rename(q.Output[0]));
                layerInput = Rename(dq.Output[0]);
            }
            var copy = layer.Clone();
            copy.Name = prefix + layer.Name;
            copy.Input[0] = layerInput;
            for (int i = 1; i < copy.Input.Count; i++) copy.Input[i] = Constant(layer.Input[i]);
            copy.Output.Clear();
            if (layers[k].BiasNode is { } biasName && byName.TryGetValue(biasName, out var biasAdd))
            {
                // MatMul -> Add(bias): the Add reads the MatMul's output and the (dequantized) bias constant.
                string product = prefix + "product";
                copy.Output.Add(product);
                graph.Node.Add(copy);
                var add = biasAdd.Clone();
                add.Name = prefix + biasAdd.Name;
                for (int i = 0; i < add.Input.Count; i++)
                    add.Input[i] = biasAdd.Input[i] == layer.Output[0] ? product : Constant(biasAdd.Input[i]);
                add.Output.Clear();
                add.Output.Add(outputs[k]);
                graph.Node.Add(add);
            }
            else
            {
                copy.Output.Add(outputs[k]);
                graph.Node.Add(copy);
            }

            graph.Input.Add(GraphBuilder.ValueInfo(inputs[k], TensorProto.Types.DataType.Float, inputShapes[k].Cast<object>().ToArray()));
            graph.Output.Add(new ValueInfoProto { Name = outputs[k] });
        }
        graph.Initializer.Add(usedInitializers.Select(n => initializers[n]));
        var model = new ModelProto { IrVersion = quantized.IrVersion, ProducerName = "PotPowerShell.BiasCorrection", Graph = graph };
        model.OpsetImport.Add(quantized.OpsetImport);
        return new LayerProbe(model, inputs, outputs);
    }

    /// <summary>Runs every layer on its blob and returns each output's per-channel mean along its axis.</summary>
    public float[][] Run(IReadOnlyList<TensorData> blobs, IReadOnlyList<int> outputAxes, int threads, CancellationToken cancellationToken)
    {
        using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_DISABLE_ALL, threads);
        using var session = OrtSessions.Create(_model.ToByteArray(), options, "bias correction probe");
        using var runOptions = new RunOptions();
        using var stop = OrtRun.StopOn(runOptions, cancellationToken);
        var values = blobs.Select(b => OrtValue.CreateTensorValueFromMemory((float[])b.Data, b.Shape)).ToArray();
        try
        {
            using (var results = OrtRun.Run(session, runOptions, _inputs, values, _outputs, cancellationToken))
            {
                var means = new float[_outputs.Length][];
                for (int i = 0; i < _outputs.Length; i++)
                {
                    var statistic = new ChannelMeanStatistic(outputAxes[i]);
                    statistic.Add(results[i].GetTensorDataAsSpan<float>(), results[i].GetTensorTypeAndShape().Shape, 1);
                    means[i] = statistic.Means;
                }
                return means;
            }
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }
}
