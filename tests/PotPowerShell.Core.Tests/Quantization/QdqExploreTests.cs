using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using PotPowerShell.Core.Quantization;
using Xunit.Abstractions;

namespace PotPowerShell.Core.Tests.Quantization;

public class QdqExploreTests
{
    private readonly ITestOutputHelper _out;
    public QdqExploreTests(ITestOutputHelper output) => _out = output;

    [Fact]
    public void Explore()
    {
        var h = new QdqHarness(QdqTestModels.ConvTransposeNet(), r => QdqHarness.Input("x", OrtTestRunner.RandomData(r, 2 * 2 * 8 * 8), 2, 2, 8, 8));
        var f = OrtTestRunner.Run(h.Float, h.Test)["head_out"];
        foreach (var (fl, pc) in new[] { (new string[0], true), (new[] { "up" }, true), (new string[0], false), (new[] { "enc", "head" }, true), (new[] { "enc", "head", "up" }, true) })
        {
            var q = QdqEmitter.Emit(h.Prepared, h.Plan(QuantizationTypes.U8S8, fl.ToHashSet(), perChannel: pc, calibrateWith: new HashSet<string>()));
            var y = OrtTestRunner.Run(q, h.Test, GraphOptimizationLevel.ORT_DISABLE_ALL)["head_out"];
            _out.WriteLine($"float={string.Join("+", fl)} pc={pc}: maxdiff {OrtTestRunner.MaxAbsDiff(f, y)} maxabs {f.Max(Math.Abs)}");
        }
    }
}
