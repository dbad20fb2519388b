namespace PotPowerShell.Core.Onnx;

/// <summary>Hands out names not used yet in a graph, deterministically (base, base_1, base_2, ...).</summary>
internal sealed class UniqueNames
{
    private readonly HashSet<string> _used;

    public UniqueNames(HashSet<string> used) => _used = used;

    public string Next(string name)
    {
        if (_used.Add(name)) return name;
        for (int i = 1; ; i++)
        {
            string candidate = $"{name}_{i}";
            if (_used.Add(candidate)) return candidate;
        }
    }
}
