using System.Text.Json.Nodes;
using PotPowerShell.Core.Reports;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// The JSON report of a run, in the form of <see cref="ReportJson"/>. It holds everything in the result except wall
/// times, so that the same inputs and seed give the same report byte for byte (times are in the result object and the
/// verbose log).
/// </summary>
public static class AccuracyAwareReport
{
    public static string ToJson(AccuracyAwareResult r)
    {
        var root = new JsonObject
        {
            ["algorithm"] = "AccuracyAwareQuantization",
            ["model"] = r.ModelPath,
            ["output"] = r.OutputPath,
            ["intermediate_models"] = new JsonArray(r.IntermediateModels.Select(p => (JsonNode)JsonValue.Create(p)!).ToArray()),
            ["met"] = r.Met,
            ["reason"] = r.Reason,
            ["maximal_drop"] = r.MaximalDrop,
            ["drop_type"] = r.DropType.ToString().ToLowerInvariant(),
            ["ranking_method"] = r.RankingMethod.ToString(),
            ["seed"] = r.Seed,
            ["preset"] = r.Preset.ToString().ToLowerInvariant(),
            ["tuned_settings"] = r.TunedSettings,
            ["metrics"] = new JsonArray(r.Metrics.Select(m => (JsonNode)new JsonObject
            {
                ["name"] = m.Name,
                ["direction"] = m.Direction.ToString(),
                ["baseline"] = Number(m.Baseline),
                ["baseline_given"] = m.BaselineGiven,
                ["fully_quantized"] = Number(m.FullyQuantized),
                ["final"] = Number(m.Final),
                ["fully_quantized_drop"] = Number(m.FullyQuantizedDrop),
                ["drop"] = Number(m.Drop),
                ["max_drop"] = Number(m.MaxDrop),
                ["met"] = m.Met,
            }).ToArray()),
            ["quantized_layers"] = r.QuantizedLayerCount,
            ["restore_mode"] = r.RestoreMode == Config.RestoreMode.OnlyActivations ? "only_activations" : "activations_and_weights",
            ["reverted_layers"] = new JsonArray(r.RevertedLayers.Select(l => (JsonNode)new JsonObject
            {
                ["layer"] = l.Layer,
                ["op_type"] = l.OpType,
                ["precision"] = l.Precision,
                ["score"] = Number(l.Score),
                ["method"] = l.Method.ToString(),
                ["iteration"] = l.Iteration,
            }).ToArray()),
            ["iterations"] = new JsonArray(r.Iterations.Select(i => (JsonNode)new JsonObject
            {
                ["index"] = i.Index,
                ["stage"] = i.Stage,
                ["layer"] = i.Layer,
                ["metric"] = i.Metric,
                ["drop_before"] = Number(i.DropBefore),
                ["drop_after"] = Number(i.DropAfter),
                ["met"] = i.Met,
                ["action"] = i.Action.ToString(),
                ["reverted_count"] = i.RevertedCount,
                ["decided_early"] = i.DecidedEarly,
                ["items"] = i.Items,
            }).ToArray()),
            ["evaluations"] = r.Evaluations,
            ["inferences"] = r.Inferences,
            ["ranking_evaluations"] = r.RankingEvaluations,
            ["ranking_inferences"] = r.RankingInferences,
            ["rankings"] = r.Rankings,
            ["rank_precision"] = Number(r.RankPrecision),
            ["rank_trials"] = r.RankTrials,
            ["decided_early_evaluations"] = r.DecidedEarlyEvaluations,
            ["inferences_saved"] = r.InferencesSaved,
            ["evaluation_workers"] = r.EvaluationWorkers,
            ["resumed_evaluations"] = r.ResumedEvaluations,
            ["calibration_passes"] = r.CalibrationPasses,
            ["bias_correction_passes"] = r.BiasCorrectionPasses,
            ["calibration_inferences"] = r.CalibrationInferences,
            // Not the latency check's: its figures, and whether it fires at all, are timings (see the Warnings table of Export-PotReport).
            ["warnings"] = new JsonArray(r.Warnings.Where(w => !w.StartsWith(LatencyCheckResult.NotFaster, StringComparison.Ordinal))
                .Select(w => (JsonNode)JsonValue.Create(w)!).ToArray()),
            ["log"] = new JsonArray(r.Log.Select(l => (JsonNode)JsonValue.Create(l)!).ToArray()),
        };
        return root.ToJsonString(ReportJson.Options);
    }

    // JSON has no NaN or infinity.
    private static JsonNode? Number(double value) => double.IsFinite(value) ? JsonValue.Create(value) : null;

    /// <summary>Writes the report through a temporary file, so an interrupted write leaves no partial report.</summary>
    public static void Write(AccuracyAwareResult result, string path, bool overwrite = true) => ReportJson.Write(ToJson(result), path, overwrite);
}
