using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.Onnx;

/// <summary>A tensor written by two nodes is a corrupt model, named as such, not a crash deep inside the quantizer.</summary>
public class DuplicateProducerTests
{
    [Fact]
    public void Two_nodes_writing_one_tensor_is_ModelCorrupt_naming_the_tensor()
    {
        using var tmp = new TempFolder();
        var g = new GraphBuilder("dup");
        var x = g.Input("x", "batch", 4);
        var a = g.Node("Relu", new[] { x }, "a");
        var b = g.Node("Sigmoid", new[] { x }, "b");
        g.Output(a);
        var model = g.Build();
        model.Graph.Node.Single(n => n.Name == "b").Output[0] = a;
        OnnxModelFile.Save(model, tmp.File("m.onnx"));
        var e = Assert.Throws<PotException>(() => OnnxModelFile.Load(tmp.File("m.onnx")));
        Assert.Equal("ModelCorrupt", e.ErrorId);
        Assert.Contains($"'{a}'", e.Message);
        Assert.Equal("ModelCorrupt", Assert.Throws<PotException>(() => PotModelInspector.Inspect(tmp.File("m.onnx"))).ErrorId);
    }
}
