using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>Prepare -> calibrate (min/max over seeded random batches) -> emit, for emitter tests.</summary>
internal sealed class QdqHarness
{
    public QdqHarness(ModelProto model, Func<Random, IReadOnlyDictionary<string, (float[] Data, int[] Dims)>> makeBatch, int batches = 8, int seed = 7)
    {
        Float = model;
        Prepared = ModelPreparation.Prepare(model);
        var rng = new Random(seed);
        Batches = Enumerable.Range(0, batches).Select(_ => makeBatch(rng)).ToList();
        Test = makeBatch(new Random(seed + 1000));
        // The test batch is part of calibration, so no test value falls outside a calibrated range: output errors then
        // come from rounding alone and can be bounded from the scales.
        Batches.Add(Test);
    }

    public ModelProto Float { get; }
    public ModelProto Prepared { get; }
    public List<IReadOnlyDictionary<string, (float[] Data, int[] Dims)>> Batches { get; }
    public IReadOnlyDictionary<string, (float[] Data, int[] Dims)> Test { get; }

    public QuantizationPlan Plan(QuantizationTypes types, IReadOnlySet<string>? floatLayers = null, bool symmetricActivations = false,
        bool perChannel = true, IReadOnlyDictionary<string, float[]>? correctedBiases = null, IReadOnlySet<string>? calibrateWith = null)
    {
        floatLayers ??= new HashSet<string>();
        var tensors = QdqEmitter.TensorsToCalibrate(Prepared, calibrateWith ?? floatLayers);
        return new QuantizationPlan
        {
            Types = types,
            SymmetricActivations = symmetricActivations,
            SymmetricWeights = true,
            PerChannelWeights = perChannel,
            Ranges = OrtTestRunner.MinMax(Prepared, tensors, Batches),
            FloatLayers = floatLayers,
            CorrectedBiases = correctedBiases ?? new Dictionary<string, float[]>(),
        };
    }

    public static IReadOnlyDictionary<string, (float[] Data, int[] Dims)> Input(string name, float[] data, params int[] dims) =>
        new Dictionary<string, (float[] Data, int[] Dims)> { [name] = (data, dims) };
}
