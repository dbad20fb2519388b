using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// Wall time per stage. Stages nest (ranking inside the search); time is charged to the innermost stage only, so the
/// stage times add up to the total.
/// </summary>
internal sealed class StageClock(Func<TimeSpan> clock)
{
    private readonly List<string> _order = new();
    private readonly Dictionary<string, TimeSpan> _elapsed = new(StringComparer.Ordinal);
    private readonly Stack<string> _open = new();
    private TimeSpan _mark;

    public IDisposable Stage(string name)
    {
        Charge();
        if (!_elapsed.ContainsKey(name))
        {
            _order.Add(name);
            _elapsed[name] = TimeSpan.Zero;
        }
        _open.Push(name);
        return new Closer(this);
    }

    public IReadOnlyList<StageTime> Times => _order.Select(s => new StageTime(s, _elapsed[s])).ToList();

    private void Charge()
    {
        var now = clock();
        if (_open.Count > 0) _elapsed[_open.Peek()] += now - _mark;
        _mark = now;
    }

    private sealed class Closer(StageClock owner) : IDisposable
    {
        private bool _closed;

        public void Dispose()
        {
            if (_closed) return;
            _closed = true;
            owner.Charge();
            owner._open.Pop();
        }
    }
}
