using System.Text.Json;
using PotPowerShell.Core.Data;
using Xunit.Abstractions;

namespace PotPowerShell.Core.Tests.Tmp;

public class PyLowerCompare(ITestOutputHelper output)
{
    [Fact]
    public void Compare()
    {
        var cases = JsonSerializer.Deserialize<string[][]>(File.ReadAllText("/tmp/pylower/cases.json"))!;
        int diff = 0;
        foreach (var c in cases)
        {
            string ours = PythonCase.Lower(c[0]);
            if (ours != c[1])
            {
                diff++;
                if (diff < 30) output.WriteLine($"{string.Join(" ", c[0].EnumerateRunes().Select(r => r.Value.ToString("X4")))}: py {string.Join(" ", c[1].EnumerateRunes().Select(r => r.Value.ToString("X4")))} ours {string.Join(" ", ours.EnumerateRunes().Select(r => r.Value.ToString("X4")))}");
            }
        }
        output.WriteLine($"{cases.Length} cases, {diff} differ");
        Assert.Equal(0, diff);
    }
}
