namespace PotPowerShell.Core.Calibration;

/// <summary>
/// Expected quantization error of clipping a tensor to [a, b], from its histogram, and the range that minimises it.
/// A value x inside [a, b] costs the rounding noise of a uniform quantizer with step Δ = (b - a) / levels, Δ²/12 on
/// average; a value outside costs its clipping error (x - a)² or (x - b)². Each bin's values count at the bin's centre.
/// Prefix sums of the counts, of Σx and of Σx² make one evaluation O(1), so the search can try every pair of bin edges
/// on a grid of at most <see cref="GridSteps"/> steps per side and then refine the best pair bin by bin, one side at a
/// time.
/// The range always holds 0 (the quantizer needs it), so a ≤ 0 ≤ b.
/// </summary>
internal sealed class ClipSearch
{
    /// <summary>Steps per side of the coarse grid.</summary>
    public const int GridSteps = 256;

    private readonly double[] _count;
    private readonly double[] _sum;
    private readonly double[] _squares;
    private readonly double _width;
    private readonly int _half;
    private readonly double _levels;

    /// <param name="counts">A centered histogram: 2·half bins, bin j holds [(j - half)·w, (j - half + 1)·w).</param>
    /// <param name="width">The bin width w.</param>
    /// <param name="min">The smallest value seen (the search never goes below it).</param>
    /// <param name="max">The largest value seen.</param>
    /// <param name="levels">Quantization steps across the range: 255 for 8 bits.</param>
    public ClipSearch(long[] counts, double width, double min, double max, double levels = 255)
    {
        if (counts.Length % 2 != 0) throw new ArgumentException("A centered histogram has an even number of bins.", nameof(counts));
        if (!(width > 0)) throw new ArgumentException("The bin width must be positive.", nameof(width));
        _width = width;
        _half = counts.Length / 2;
        _levels = levels;
        Min = Math.Min(min, 0);
        Max = Math.Max(max, 0);
        int n = counts.Length;
        _count = new double[n + 1];
        _sum = new double[n + 1];
        _squares = new double[n + 1];
        for (int j = 0; j < n; j++)
        {
            double c = Center(j), k = counts[j];
            _count[j + 1] = _count[j] + k;
            _sum[j + 1] = _sum[j] + k * c;
            _squares[j + 1] = _squares[j] + k * c * c;
        }
    }

    public double Min { get; }
    public double Max { get; }

    /// <summary>Number of values in the histogram.</summary>
    public double Total => _count[^1];

    private double Center(int j) => (j - _half + 0.5) * _width;

    /// <summary>Expected total squared error of quantizing every value with the range [a, b] (widened to hold 0).</summary>
    public double Error(double a, double b) => Error(Lower(Math.Min(a, 0)), Upper(Math.Max(b, 0)));

    /// <summary>The lower end's share of <see cref="Error"/>: the clipping error below a ≤ 0.</summary>
    private readonly record struct LowerEnd(double A, double Count, double Clipping);

    /// <summary>The upper end's share of <see cref="Error"/>: the clipping error above b ≥ 0.</summary>
    private readonly record struct UpperEnd(double B, double Count, double Clipping);

    private LowerEnd Lower(double a)
    {
        int n = _count.Length - 1;
        // Bins whose centre lies below a.
        int low = (int)Math.Clamp(Math.Ceiling(a / _width + _half - 0.5), 0, n);
        double below = _squares[low] - 2 * a * _sum[low] + a * a * _count[low];
        return new LowerEnd(a, _count[low], Math.Max(below, 0));
    }

    private UpperEnd Upper(double b)
    {
        int n = _count.Length - 1;
        // The first bin whose centre lies above b: at least half since b ≥ 0, so never below the lower end's bin.
        int high = (int)Math.Clamp(Math.Floor(b / _width + _half - 0.5) + 1, 0, n);
        double aboveCount = _count[n] - _count[high], aboveSum = _sum[n] - _sum[high], aboveSquares = _squares[n] - _squares[high];
        double above = aboveSquares - 2 * b * aboveSum + b * b * aboveCount;
        return new UpperEnd(b, _count[high], Math.Max(above, 0));
    }

    /// <summary>Clipping on both sides plus the rounding noise of the values inside.</summary>
    private double Error(in LowerEnd lower, in UpperEnd upper)
    {
        double step = (upper.B - lower.A) / _levels;
        double inside = upper.Count - lower.Count;
        return lower.Clipping + upper.Clipping + inside * step * step / 12;
    }

    /// <summary>Share of the values that [a, b] clips.</summary>
    public double ClippedShare(double a, double b)
    {
        if (Total == 0) return 0;
        int n = _count.Length - 1;
        int low = (int)Math.Clamp(Math.Ceiling(Math.Min(a, 0) / _width + _half - 0.5), 0, n);
        int high = (int)Math.Clamp(Math.Floor(Math.Max(b, 0) / _width + _half - 0.5) + 1, low, n);
        return (_count[low] + _count[n] - _count[high]) / Total;
    }

    /// <summary>
    /// The range with the least expected error among the bin edges between 0 and the observed ends (and the observed
    /// ends themselves). Ties keep the wider range, so nothing is clipped without a gain.
    /// </summary>
    public (double Min, double Max, double Error) Optimal()
    {
        // Candidates per side: k = 0 (the range ends at 0) to the edge at or beyond the observed end.
        int lowSteps = (int)Math.Min(_half, Math.Ceiling(-Min / _width));
        int highSteps = (int)Math.Min(_half, Math.Ceiling(Max / _width));
        double A(int i) => Math.Max(-i * _width, Min);
        double B(int j) => Math.Min(j * _width, Max);
        // Each side's terms are computed once per candidate edge, not once per pair.
        var lower = new LowerEnd[lowSteps + 1];
        for (int i = 0; i <= lowSteps; i++) lower[i] = Lower(Math.Min(A(i), 0));
        var upper = new UpperEnd[highSteps + 1];
        for (int j = 0; j <= highSteps; j++) upper[j] = Upper(Math.Max(B(j), 0));

        int stride = Math.Max(1, (int)Math.Ceiling(Math.Max(lowSteps, highSteps) / (double)GridSteps));
        var (bi, bj, best) = (lowSteps, highSteps, Error(Min, Max));
        void Try(int i, int j)
        {
            if (i < 0 || j < 0 || i > lowSteps || j > highSteps) return;
            // The rounding term is never negative, so a pair whose clipping alone exceeds the best cannot win or tie:
            // skipping it changes nothing but the time.
            if (lower[i].Clipping + upper[j].Clipping > best) return;
            double e = Error(lower[i], upper[j]);
            // Strictly smaller, or equal and wider: never clip for nothing.
            if (e < best || (e == best && i + j > bi + bj)) (bi, bj, best) = (i, j, e);
        }
        double leastUpper = upper.Min(u => u.Clipping);
        for (int i = lowSteps; i >= 0; i -= stride)
        {
            // Likewise for a whole row: no upper end makes this lower end reach the best.
            if (lower[i].Clipping + leastUpper > best) continue;
            for (int j = highSteps; j >= 0; j -= stride)
                Try(i, j);
        }
        // Then bin by bin: the best lower edge for the upper one, and the other way round, until neither moves.
        for (int round = 0; round < 64; round++)
        {
            var (pi, pj) = (bi, bj);
            int fixedJ = bj;
            for (int i = lowSteps; i >= 0; i--) Try(i, fixedJ);
            int fixedI = bi;
            for (int j = highSteps; j >= 0; j--) Try(fixedI, j);
            if ((pi, pj) == (bi, bj)) break;
        }
        return (A(bi), B(bj), best);
    }

    /// <summary>The p and 1 - p quantiles (bin edges, within the observed ends).</summary>
    public (double Min, double Max) Quantiles(double p)
    {
        int n = _count.Length - 1;
        double lowTarget = p * Total, highTarget = (1 - p) * Total;
        int lo = 0;
        while (lo < n && _count[lo + 1] <= lowTarget) lo++;
        int hi = n;
        while (hi > 0 && _count[hi - 1] >= highTarget) hi--;
        return (Math.Max((lo - _half) * _width, Min), Math.Min((hi - _half) * _width, Max));
    }
}
