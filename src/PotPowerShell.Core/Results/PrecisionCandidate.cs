namespace PotPowerShell.Core.Results;

/// <summary>A whole-model candidate of the precision choice: which layers are INT8, and its measured median latency.</summary>
/// <param name="Name">"estimate" (the layer-level choice), "all INT8", "all float", or "best N of the estimate".</param>
/// <param name="Int8Layers">How many of the layers the choice decides are INT8: the timed ones, and the MatMuls of two activations.</param>
public sealed record PrecisionCandidate(string Name, int Int8Layers, double Ms)
{
    public bool Chosen { get; init; }

    /// <summary>"estimate 119 INT8 932.288 ms (chosen)": how a result's candidates read where only text goes (Export-Csv, items joined by ", ").</summary>
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Name} {Int8Layers} INT8 {Ms:0.###} ms{(Chosen ? " (chosen)" : "")}");
}
