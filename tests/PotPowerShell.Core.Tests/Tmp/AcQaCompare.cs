using System.Text.Json;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using Xunit.Abstractions;

namespace PotPowerShell.Core.Tests.Tmp;

public class AcQaCompare(ITestOutputHelper output)
{
    [Fact]
    public void Compare()
    {
        int scenes = 0, features = 0, featureDiff = 0, answerDiff = 0, valueDiff = 0, totalDiff = 0;
        foreach (var dir in Directory.GetDirectories("/tmp/acqa/scenes").OrderBy(d => d))
        {
            if (!File.Exists(Path.Combine(dir, "ac.json"))) continue;
            scenes++;
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "ac.json")));
            var o = doc.RootElement.GetProperty("options");
            bool lower = o.GetProperty("lower_case").GetBoolean();
            var opts = new SquadOptions(o.GetProperty("max_seq_length").GetInt32(), o.GetProperty("max_query_length").GetInt32(), o.GetProperty("doc_stride").GetInt32(), lower);
            var file = SquadFile.Read(Path.Combine(dir, "squad.json"), WordPieceTokenizer.Load(Path.Combine(dir, "vocab.txt"), lower), opts);
            var acFeatures = doc.RootElement.GetProperty("features").EnumerateArray().ToList();
            if (file.Count != acFeatures.Count) { output.WriteLine($"{dir}: {file.Count} windows vs {acFeatures.Count}"); featureDiff++; continue; }
            var f1 = new QuestionAggregate(); var em = new QuestionAggregate();
            for (int i = 0; i < file.Count; i++)
            {
                features++;
                var item = file.Get(i);
                var w = (QuestionWindow)item.Annotation!;
                var ac = acFeatures[i];
                long[] L(string n) => (long[])item.Inputs[n].Data;
                var ids = ac.GetProperty("input_ids").EnumerateArray().Select(x => x.GetInt64()).ToArray();
                var mask = ac.GetProperty("input_mask").EnumerateArray().Select(x => x.GetInt64()).ToArray();
                var seg = ac.GetProperty("segment_ids").EnumerateArray().Select(x => x.GetInt64()).ToArray();
                var tokens = ac.GetProperty("tokens").EnumerateArray().Select(x => x.GetString()!).ToArray();
                var map = ac.GetProperty("map").EnumerateObject().ToDictionary(p => int.Parse(p.Name), p => p.Value.GetInt32());
                var maxctx = ac.GetProperty("maxctx").EnumerateArray().Select(x => x.GetInt32()).ToHashSet();
                var words = ac.GetProperty("words").EnumerateArray().Select(x => x.GetString()!).ToArray();
                bool same = ids.SequenceEqual(L("input_ids")) && mask.SequenceEqual(L("input_mask")) && seg.SequenceEqual(L("segment_ids"))
                    && tokens.SequenceEqual(w.Tokens) && map.Count == w.TokenToWord.Count && map.All(p => w.TokenToWord.TryGetValue(p.Key, out var v) && v == p.Value)
                    && maxctx.SetEquals(w.MaxContext) && words.SequenceEqual(w.Words) && ac.GetProperty("qid").GetString() == w.QuestionId;
                if (!same)
                {
                    featureDiff++;
                    if (featureDiff < 6) output.WriteLine($"{dir} #{i}: AC ids {string.Join(",", ids)} tokens {string.Join(" ", tokens)}\n   ours {string.Join(",", L("input_ids"))} tokens {string.Join(" ", w.Tokens)}\n words AC {string.Join("|", words)}\n ours {string.Join("|", w.Words)}");
                    continue;
                }
                var s = ac.GetProperty("start").EnumerateArray().Select(x => x.GetSingle()).ToArray();
                var e = ac.GetProperty("end").EnumerateArray().Select(x => x.GetSingle()).ToArray();
                string answer = QuestionAnsweringAdapter.Answer(s, e, w, o.GetProperty("n_best_size").GetInt32(), o.GetProperty("max_answer").GetInt32());
                if (answer != ac.GetProperty("answer").GetString()) { answerDiff++; output.WriteLine($"{dir} #{i}: answer '{answer}' vs AC '{ac.GetProperty("answer").GetString()}'"); }
                double vf = QuestionAnsweringRunner.Score(answer, w.Answers, true), ve = QuestionAnsweringRunner.Score(answer, w.Answers, false);
                if (Math.Abs(vf - ac.GetProperty("f1").GetDouble()) > 1e-12 || Math.Abs(ve - ac.GetProperty("em").GetDouble()) > 1e-12) { valueDiff++; output.WriteLine($"{dir} #{i}: f1 {vf} em {ve} vs AC {ac.GetProperty("f1")} {ac.GetProperty("em")} answer '{answer}' golds {string.Join("|", w.Answers)}"); }
                f1.Add(w.QuestionId, vf); em.Add(w.QuestionId, ve);
            }
            if (file.Count > 0 && (Math.Abs(f1.Result() - doc.RootElement.GetProperty("f1").GetDouble()) > 1e-12 || Math.Abs(em.Result() - doc.RootElement.GetProperty("em").GetDouble()) > 1e-12)) totalDiff++;
        }
        output.WriteLine($"scenes {scenes}, windows {features}, window diffs {featureDiff}, answer diffs {answerDiff}, value diffs {valueDiff}, dataset diffs {totalDiff}");
    }
}
