using System.Text.Json;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;
using Xunit.Abstractions;

namespace PotPowerShell.Core.Tests.Tmp;

public class AcNerCompare(ITestOutputHelper output)
{
    [Fact]
    public void Compare()
    {
        int scenes = 0, sentences = 0, featureDiff = 0, errorScenes = 0, errorDiff = 0, valueDiff = 0, updateDiff = 0, values = 0;
        foreach (var dir in Directory.GetDirectories("/tmp/acner/scenes").OrderBy(d => d))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "ac.json")));
            var root = doc.RootElement;
            var o = root.GetProperty("options");
            bool lower = o.GetProperty("lower_case").GetBoolean();
            var opts = new ConllOptions(o.GetProperty("max_len").GetInt32(), lower, o.GetProperty("pad_input").GetBoolean(), o.GetProperty("include_special_token_labels").GetBoolean());
            scenes++;
            ConllFile file;
            try
            {
                file = ConllFile.Read(Path.Combine(dir, "valid.txt"), WordPieceTokenizer.Load(Path.Combine(dir, "vocab.txt"), lower), opts);
            }
            catch (PotException e)
            {
                if (root.TryGetProperty("error", out _)) { errorScenes++; continue; }
                errorDiff++;
                output.WriteLine($"{dir}: ours threw {e.Message}");
                continue;
            }
            if (root.TryGetProperty("error", out var acError)) { errorDiff++; output.WriteLine($"{dir}: AC threw {acError}, ours did not"); continue; }
            var acSentences = root.GetProperty("sentences").EnumerateArray().ToList();
            if (acSentences.Count != file.Count) { featureDiff++; output.WriteLine($"{dir}: {file.Count} vs {acSentences.Count}"); continue; }
            var masked = new List<NerSentence>();
            var all = new List<NerSentence>();
            var updates = new List<double>();
            for (int i = 0; i < file.Count; i++)
            {
                sentences++;
                var item = file.Get(i);
                var labels = (TokenLabels)item.Annotation!;
                var ac = acSentences[i];
                long[] L(string n) => (long[])item.Inputs[n].Data;
                int[] A(string n) => ac.GetProperty(n).EnumerateArray().Select(x => x.GetInt32()).ToArray();
                bool same = A("input_ids").Select(x => (long)x).SequenceEqual(L("input_ids")) && A("input_mask").Select(x => (long)x).SequenceEqual(L("input_mask"))
                    && A("segment_ids").Select(x => (long)x).SequenceEqual(L("segment_ids")) && A("label_ids").SequenceEqual(labels.LabelIds)
                    && A("valid_ids").Select(x => x != 0).SequenceEqual(labels.Valid) && A("label_mask").Select(x => x != 0).SequenceEqual(labels.LabelMask);
                if (!same)
                {
                    featureDiff++;
                    if (featureDiff < 6) output.WriteLine($"{dir} #{i}: AC ids {string.Join(",", A("input_ids"))} labels {string.Join(",", A("label_ids"))} valid {string.Join(",", A("valid_ids"))} mask {string.Join(",", A("label_mask"))}\n ours ids {string.Join(",", L("input_ids"))} labels {string.Join(",", labels.LabelIds)} valid {string.Join(",", labels.Valid.Select(v => v ? 1 : 0))} mask {string.Join(",", labels.LabelMask.Select(v => v ? 1 : 0))}");
                    continue;
                }
                var logits = ac.GetProperty("logits").EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToArray();
                var pred = TokenClassificationAdapter.ArgMax(logits.SelectMany(r => r).ToArray(), logits[0].Length);
                if (!pred.SequenceEqual(A("pred"))) { featureDiff++; output.WriteLine($"{dir} #{i}: argmax differs"); continue; }
                masked.Add(NerRunner.Align(labels, pred, null, false));
                all.Add(NerRunner.Align(labels, pred, null, true));
            }
            foreach (var (mode, list) in new[] { ("masked", masked), ("all_tokens", all) })
            {
                if (!root.GetProperty("metrics").TryGetProperty(mode, out var metrics)) continue;
                foreach (var (name, type) in new[] { ("ner_accuracy", MetricType.NerAccuracy), ("ner_f_score", MetricType.NerFScore) })
                {
                    var m = metrics.GetProperty(name);
                    var acUpdates = m.GetProperty("updates").EnumerateArray().ToList();
                    for (int i = 0; i < list.Count; i++)
                    {
                        if (acUpdates[i].ValueKind == JsonValueKind.Object) continue; // AC raised (an empty sentence)
                        double ours = NerAggregate.Value(type, new[] { list[i] }, IWeightedAggregate.Once(1));
                        double theirs = acUpdates[i].ValueKind == JsonValueKind.Array
                            ? (acUpdates[i].GetArrayLength() == 0 ? double.NaN : acUpdates[i].EnumerateArray().Average(x => x.GetDouble()))
                            : acUpdates[i].GetDouble();
                        if (!(double.IsNaN(ours) && double.IsNaN(theirs)) && Math.Abs(ours - theirs) > 1e-12)
                        {
                            updateDiff++;
                            if (updateDiff < 6) output.WriteLine($"{dir} {mode} {name} #{i}: ours {ours} AC {theirs}");
                        }
                    }
                    var ev = m.GetProperty("evaluate");
                    double acValue = ev.ValueKind == JsonValueKind.Array ? (ev.GetArrayLength() == 0 ? double.NaN : ev.EnumerateArray().Average(x => x.GetDouble())) : ev.GetDouble();
                    double ourValue = NerAggregate.Value(type, list, IWeightedAggregate.Once(list.Count));
                    values++;
                    if (!(double.IsNaN(ourValue) && double.IsNaN(acValue)) && Math.Abs(ourValue - acValue) > 1e-12)
                    {
                        valueDiff++;
                        output.WriteLine($"{dir} {mode} {name}: ours {ourValue} AC {acValue}");
                    }
                }
            }
        }
        output.WriteLine($"scenes {scenes} (AC errors matched {errorScenes}), sentences {sentences}, feature diffs {featureDiff}, error diffs {errorDiff}, update diffs {updateDiff}, values {values}, value diffs {valueDiff}");
        Assert.Equal(0, featureDiff + errorDiff + updateDiff + valueDiff);
    }
}
