using System.Globalization;
using PotPowerShell.Core.Fuzzing;

// FuzzReaders [--seconds N] [--seed S] [--targets onnx,npy,...] [--corpus DIR] [--findings DIR] [--budget-seconds N] [--write-seeds]
// Mutates the generated seeds and the corpus of each target for its share of the time, prints a table of
// executions and outcomes, writes each crash or hang to <findings>/<target>/ with its input, and exits 1 on a finding.
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (int i = 0; i < args.Length; i++)
    options[args[i].TrimStart('-')] = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "true";
string Option(string name, string fallback) => options.TryGetValue(name, out var v) ? v : fallback;

string root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));
string corpus = Path.GetFullPath(Option("corpus", Path.Combine(root, "tests/PotPowerShell.Core.Tests/Fuzz/FuzzCorpus")));
string findings = Path.GetFullPath(Option("findings", Path.Combine(root, "out/fuzz-findings")));
double seconds = double.Parse(Option("seconds", "60"), CultureInfo.InvariantCulture);
int seed = int.Parse(Option("seed", "1"), CultureInfo.InvariantCulture);
var budget = TimeSpan.FromSeconds(double.Parse(Option("budget-seconds", "10"), CultureInfo.InvariantCulture));
var targets = Option("targets", string.Join(",", ReaderFuzzer.Targets)).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

if (options.ContainsKey("write-seeds"))
{
    foreach (string target in targets)
    {
        Directory.CreateDirectory(Path.Combine(corpus, target));
        foreach (var (name, data) in ReaderFuzzer.Seeds(target)) File.WriteAllBytes(Path.Combine(corpus, target, "seed-" + name), data);
    }
    Console.WriteLine($"Seeds written to {corpus}.");
    return 0;
}

Console.WriteLine($"Fuzzing {string.Join(", ", targets)} for {seconds} s with seed {seed}, {budget.TotalSeconds} s per case; corpus {corpus}.");
using var fuzzer = new ReaderFuzzer();
var tallies = new List<FuzzTally>();
int found = 0;
for (int t = 0; t < targets.Length; t++)
{
    string target = targets[t];
    string folder = Path.Combine(corpus, target);
    var seeds = ReaderFuzzer.Seeds(target).Select(s => s.Data)
        .Concat(Directory.Exists(folder) ? Directory.GetFiles(folder).OrderBy(f => f, StringComparer.Ordinal).Select(File.ReadAllBytes) : [])
        .ToList();
    var until = DateTime.UtcNow.AddSeconds(seconds / targets.Length);
    tallies.Add(fuzzer.Campaign(target, seeds, seed + t, long.MaxValue, until, budget, (input, result) =>
    {
        string dir = Path.Combine(findings, target);
        Directory.CreateDirectory(dir);
        string name = $"{result.Outcome.ToString().ToLowerInvariant()}-{seed + t}-{++found}";
        File.WriteAllBytes(Path.Combine(dir, name + ".bin"), input);
        File.WriteAllText(Path.Combine(dir, name + ".txt"), result.Detail);
        Console.WriteLine($"  {target}: {result.Outcome}: {result.Detail.Split('\n')[0]} -> {Path.Combine(dir, name)}.bin");
    }));
}

Console.WriteLine();
Console.WriteLine($"{"Target",-12} {"Executions",10} {"Loaded",8} {"ClearErrors",12} {"Crashes",8} {"Hangs",6}  Error ids (count)");
foreach (var x in tallies)
    Console.WriteLine($"{x.Target,-12} {x.Executions,10} {x.Loaded,8} {x.ClearErrors,12} {x.Crashes,8} {x.Hangs,6}  " +
                      string.Join(", ", x.ErrorIds.OrderByDescending(e => e.Value).Select(e => $"{e.Key} ({e.Value})")));
Console.WriteLine($"{"Total",-12} {tallies.Sum(x => x.Executions),10} {tallies.Sum(x => x.Loaded),8} {tallies.Sum(x => x.ClearErrors),12} {tallies.Sum(x => x.Crashes),8} {tallies.Sum(x => x.Hangs),6}");
return tallies.Any(x => x.Crashes + x.Hangs > 0) ? 1 : 0;
