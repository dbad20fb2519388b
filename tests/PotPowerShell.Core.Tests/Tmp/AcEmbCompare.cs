using System.Text.Json;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using Xunit.Abstractions;

namespace PotPowerShell.Core.Tests.Tmp;

public class AcEmbCompare(ITestOutputHelper output)
{
    [Fact]
    public void Compare()
    {
        int scenes = 0, items = 0, itemDiffs = 0, valueDiffs = 0, coarse = 0;
        foreach (var dir in Directory.GetDirectories("/tmp/acqa/scenes").OrderBy(d => d))
        {
            if (!File.Exists(Path.Combine(dir, "emb.json"))) continue;
            scenes++;
            using var ac = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "ac.json")));
            using var emb = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "emb.json")));
            var o = ac.RootElement.GetProperty("options");
            bool lower = o.GetProperty("lower_case").GetBoolean();
            var file = SquadFile.Read(Path.Combine(dir, "squad.json"), WordPieceTokenizer.Load(Path.Combine(dir, "vocab.txt"), lower),
                new SquadOptions(o.GetProperty("max_seq_length").GetInt32(), o.GetProperty("max_query_length").GetInt32(), LowerCase: lower, Embeddings: true));
            var acItems = emb.RootElement.GetProperty("items").EnumerateArray().ToList();
            if (acItems.Count != file.Count) { output.WriteLine($"{dir}: {file.Count} vs {acItems.Count}"); itemDiffs++; continue; }
            var embeddings = emb.RootElement.GetProperty("embeddings").EnumerateArray().Select(e => e.EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToList();
            var idOf = new List<string>();
            for (int i = 0; i < file.Count; i++)
            {
                items++;
                var item = file.Get(i);
                var a = acItems[i];
                bool same = a.GetProperty("ids").EnumerateArray().Select(x => x.GetInt64()).SequenceEqual((long[])item.Inputs["input_ids"].Data)
                    && a.GetProperty("mask").EnumerateArray().Select(x => x.GetInt64()).SequenceEqual((long[])item.Inputs["input_mask"].Data)
                    && a.GetProperty("seg").EnumerateArray().Select(x => x.GetInt64()).SequenceEqual((long[])item.Inputs["segment_ids"].Data);
                if (!same) { itemDiffs++; if (itemDiffs < 5) output.WriteLine($"{dir} #{i}: AC {string.Join(",", a.GetProperty("ids").EnumerateArray())} ours {string.Join(",", (long[])item.Inputs["input_ids"].Data)}"); }
            }
            foreach (var k in new[] { 1, 2, 5 })
            {
                var spec = new MetricSpec("m", MetricType.QaEmbeddingAccuracy, PotPowerShell.Core.Results.MetricDirection.HigherBetter, new[] { 0 }, "m", k);
                var agg = new QuestionEmbeddingAggregate(spec);
                for (int i = 0; i < file.Count; i++) agg.Add(i, (QuestionEmbedding)file.Get(i).Annotation!, embeddings[i]);
                double ours = agg.Result(), theirs = emb.RootElement.GetProperty("top").GetProperty(k.ToString()).GetDouble();
                if (Math.Abs(ours - theirs) > 1e-12) { valueDiffs++; if (emb.RootElement.GetProperty("coarse").GetBoolean()) coarse++; output.WriteLine($"{dir} top{k}: ours {ours} AC {theirs}"); }
            }
        }
        output.WriteLine($"scenes {scenes}, items {items}, item diffs {itemDiffs}, value diffs {valueDiffs} (coarse {coarse})");
    }
}
