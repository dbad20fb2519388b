using PotPowerShell.Core.Tests.Data;
using PotPowerShell.Core.Fuzzing;

namespace PotPowerShell.Core.Tests.Fuzz;

/// <summary>
/// The reader fuzzer's contract on every test run: the committed corpus (seeds and past findings, Fuzz/FuzzCorpus/&lt;target&gt;/)
/// and a short seeded campaign per reader either load or fail with a PotException carrying an error id, each case
/// within a time budget. Longer campaigns: bench/Fuzz-Readers.ps1.
/// </summary>
[Collection(ProcessTempFolderUsers.Name)]
public sealed class FuzzReplayTests : IDisposable
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(10);
    private readonly ReaderFuzzer _fuzzer = new();

    public void Dispose() => _fuzzer.Dispose();

    public static TheoryData<string> Targets => new(ReaderFuzzer.Targets);

    private static string CorpusFolder(string target) => Path.Combine(AppContext.BaseDirectory, "Fuzz", "FuzzCorpus", target);

    [Theory]
    [MemberData(nameof(Targets))]
    public void Generated_seeds_load(string target)
    {
        foreach (var (name, data) in ReaderFuzzer.Seeds(target))
        {
            var result = _fuzzer.Execute(target, data, Budget);
            Assert.True(result.Outcome == FuzzOutcome.Loaded, $"{target}/{name}: {result.Outcome} {result.Detail}");
        }
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void Corpus_replays_without_a_finding(string target)
    {
        var files = Directory.GetFiles(CorpusFolder(target)).OrderBy(f => f, StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);
        var findings = files
            .Select(f => (File: Path.GetFileName(f), Result: _fuzzer.Execute(target, File.ReadAllBytes(f), Budget)))
            .Where(r => r.Result.Outcome is FuzzOutcome.Crash or FuzzOutcome.Hang)
            .Select(r => $"{target}/{r.File}: {r.Result.Outcome} {r.Result.Detail}")
            .ToList();
        Assert.True(findings.Count == 0, string.Join(Environment.NewLine, findings));
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void Short_seeded_campaign_finds_nothing(string target)
    {
        var seeds = ReaderFuzzer.Seeds(target).Select(s => s.Data)
            .Concat(Directory.GetFiles(CorpusFolder(target)).OrderBy(f => f, StringComparer.Ordinal).Select(File.ReadAllBytes)).ToList();
        var findings = new List<string>();
        var tally = _fuzzer.Campaign(target, seeds, seed: 12, executions: 150, until: null, Budget,
            (input, result) => findings.Add($"{result.Outcome} on {Convert.ToBase64String(input)}: {result.Detail}"));
        Assert.Equal(150, tally.Executions);
        Assert.True(findings.Count == 0, string.Join(Environment.NewLine, findings));
        // The mutations do break the seeds (the campaign is not replaying valid files).
        Assert.True(tally.ClearErrors > 0);
    }
}
