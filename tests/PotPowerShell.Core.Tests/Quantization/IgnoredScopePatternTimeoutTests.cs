using PotPowerShell.Core.Config;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

public class IgnoredScopePatternTimeoutTests
{
    [Fact]
    public void A_pattern_that_backtracks_too_long_is_an_ignored_scope_error()
    {
        var g = new GraphBuilder("s");
        var x = g.Input("x", "batch", 4);
        g.Output(g.Node("Relu", new[] { x }, new string('a', 40) + "!"));
        var e = Assert.Throws<PotException>(() => IgnoredScope.Resolve(g.Graph, new[] { "/(a+)+b/" }, Array.Empty<IgnoredOperation>()));
        Assert.Equal("IgnoredScopeInvalidPattern", e.ErrorId);
        Assert.Contains("backtracks", e.Message);
    }
}
