using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>The cost said up front, from layer and item counts.</summary>
public class AccuracyAwarePlanTests
{
    [Fact]
    public void Signal_ranking_plans_layers_plus_one_evaluations_of_the_ranking_set_and_three_confirmations_per_step()
    {
        var p = AccuracyAwarePlan.For(new AccuracyAwareOptions { RankingMethod = RankingMethod.Signal }, layers: 22, items: 1000);
        Assert.Equal(50, p.RankingItems);
        Assert.Equal(2000, p.BaselineInferences);
        Assert.Equal(23 * 50, p.RankingInferences);
        Assert.Equal(3 * 1000, p.StepInferences);
        Assert.Equal(2000 + 22 * (1150 + 3000), p.WorstCaseInferences);
        Assert.Equal((2, 23, 3, 2 + 22 * (23 + 3)), (p.BaselineEvaluations, p.RankingEvaluations, p.StepEvaluations, p.WorstCaseEvaluations));
    }

    [Fact]
    public void The_time_estimate_adds_a_session_per_evaluation_to_the_inferences()
    {
        var p = AccuracyAwarePlan.For(new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaxIterations = 5, BackwardPass = false }, layers: 50, items: 1000);
        // 1 ms per inference and 100 ms per evaluation: a ranking is 15300 inferences and 51 evaluations (15.3 s + 5.1 s),
        // a step 1000 and 1, the baseline 2000 and 2, the worst case 83500 and 2 + 5 * 52.
        var text = p.Describe(TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(100));
        Assert.Contains("baseline 2000 inferences (about 2.2 s)", text);
        Assert.Contains("each ranking 15300 (50 layers on 300 items) (about 20.4 s)", text);
        Assert.Contains("each search step up to 1000 (about 1.1 s)", text);
        Assert.EndsWith("worst case (every layer, a ranking per step) 83500 (about 1.8 min).", text);
        // output_error: the instrumented pass, the confirmed layers and the current model.
        var o = AccuracyAwarePlan.For(new AccuracyAwareOptions { RankingMethod = RankingMethod.OutputError, ConfirmTopLayers = 3 }, layers: 50, items: 1000);
        Assert.Equal((5, 6 * 300L), (o.RankingEvaluations, o.RankingInferences));
    }

    [Fact]
    public void Metric_ranking_plans_pot_s_300_items_and_one_evaluation_per_step_within_max_iter_num()
    {
        var p = AccuracyAwarePlan.For(new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaxIterations = 5 }, layers: 50, items: 1000);
        Assert.Equal(300, p.RankingItems);
        Assert.Equal(51 * 300, p.RankingInferences);
        Assert.Equal(1000, p.StepInferences);
        Assert.Equal(2000 + 5 * (15300 + 1000), p.WorstCaseInferences);
        Assert.Contains("each ranking 15300 (50 layers on 300 items) (about 15.3 s)", p.Describe(TimeSpan.FromMilliseconds(1)));
        Assert.EndsWith("then the backward pass, up to 1000 (about 1 s) per try: in ranking order a try per float layer, again after another is quantized again; smallest increase first about one try per float layer, after an estimate of each on 100 items.", p.Describe(TimeSpan.FromMilliseconds(1)));
        Assert.EndsWith("worst case (every layer, a ranking per step) 83500.", (p with { BackwardPass = false }).Describe());
    }

    [Fact]
    public void A_run_logs_its_plan_and_says_the_time_estimate_on_the_verbose_stream_only()
    {
        using var m = new OutlierModel();
        var verbose = new List<string>();
        var r = AccuracyAwarePipeline.Run(new AccuracyAwareJob
        {
            ModelPath = m.ModelPath,
            CalibrationDataPath = m.CalibrationPath,
            EnginePath = m.EnginePath,
            Options = new AccuracyAwareOptions { MaximalDrop = 0.01, RankingMethod = RankingMethod.Signal, Quantization = new DefaultQuantizationOptions { Precision = PrecisionMode.AllInt8 } },
        }, m.File("plan.onnx"), log: new LogLines(verbose));
        Assert.Contains("Plan: 3 layers, 200 validation items: baseline 400 inferences, each ranking 200 (3 layers on 50 items), each search step up to 600; worst case (every layer, a ranking per step) 2800; then the backward pass, up to 200 per try: in ranking order a try per float layer, again after another is quantized again; smallest increase first about one try per float layer, after an estimate of each on 100 items.", r.Log);
        Assert.Contains(verbose, l => l.StartsWith("Time estimate at ", StringComparison.Ordinal) && l.Contains("baseline 400 inferences (about ", StringComparison.Ordinal));
        // Timed at the batch size measured for the evaluations to come (the probe's sizes are below the 32 the fully
        // quantized model ran at), and named so.
        var chosen = System.Text.RegularExpressions.Regex.Match(verbose.Single(l => l.StartsWith("Evaluation batch size ", StringComparison.Ordinal)), @"^Evaluation batch size (\d+),").Groups[1].Value;
        Assert.NotEqual("32", chosen);
        Assert.Contains(verbose, l => l.StartsWith("Time estimate at ", StringComparison.Ordinal) && l.Contains($"(the fully quantized model, batch size {chosen};", StringComparison.Ordinal));
        // The session of the fully quantized model's evaluation was timed: its time is in the estimate.
        Assert.Matches(@"^Time estimate at [0-9.]+ ms per inference and [0-9.]*[1-9][0-9.]* ms per evaluation's session ", verbose.Single(l => l.StartsWith("Time estimate at ", StringComparison.Ordinal)));
        Assert.DoesNotContain(r.Log, l => l.StartsWith("Time estimate", StringComparison.Ordinal));
        var estimate = AccuracyAwarePlan.Estimate(new AccuracyAwareJob { ModelPath = m.ModelPath, EnginePath = m.EnginePath, Options = new AccuracyAwareOptions() });
        // ranking_method auto is chosen after the fully quantized model is measured: the estimate prices the dearer
        // method that may be chosen, Metric on all 200 items here (3400 against Signal's 2800), and on 300 of 301.
        Assert.Equal(AccuracyAwarePlan.For(new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric }, 3, 200), estimate);
        Assert.Equal(3400, estimate.WorstCaseInferences);
        Assert.Equal(AccuracyAwarePlan.For(new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric }, 3, 301), AccuracyAwarePlan.For(new AccuracyAwareOptions(), 3, 301));
    }
}
