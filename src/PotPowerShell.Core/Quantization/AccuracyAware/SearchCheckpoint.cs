using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// The search state of one accuracy-aware run on disk (-CheckpointPath, checkpoint_path): every evaluation's result in
/// the order the search asked for it, a journal appended to and flushed to disk after each one. Each record carries its
/// length and a checksum, so an evaluation is in the file whole or not at all: a record cut short by a kill or a power
/// loss (the last one) is dropped and measured again. Appending writes each result once: rewriting the whole journal
/// after every evaluation wrote n^2/2 records (bench/Bench-AccuracyAware.ps1 NOTES). The header (format, fingerprint)
/// is written once, through a temporary file and a move. The search is a
/// pure function of those results, so a run that finds a checkpoint replays it (the search takes the same path and
/// infers nothing until the journal is used up) and goes on from there: it ends with the same model bytes as an
/// uninterrupted run. Calibration is repeated (it is deterministic); output-error passes are inferred again.
/// A checkpoint records a fingerprint of what the search depends on (the FP32 and fully quantized models, the
/// validation set, the metrics and the search options; not budgets or worker counts): another run's checkpoint is
/// refused with CheckpointMismatch rather than replayed.
/// </summary>
internal sealed class SearchCheckpoint
{
    private const string Magic = "POTAAQCK";
    private const int Version = 3;
    /// <summary>A record's length (int) and the first bytes of its payload's SHA-256.</summary>
    private const int RecordHeader = 4 + ChecksumBytes;
    private const int ChecksumBytes = 8;
    /// <summary>Reader limit: a checkpoint larger than this is refused (a run's journal is a few megabytes).</summary>
    internal const long MaxBytes = 1L << 30;

    private readonly string _path;
    private readonly string _fingerprint;
    private readonly List<(string Key, byte[] Entry)> _journal = new();
    private int _position;
    /// <summary>Bytes of the file that hold its header and whole records (0 = no file yet); a torn record after them is cut off by the next append.</summary>
    private long _length;

    private SearchCheckpoint(string path, string fingerprint)
    {
        _path = path;
        _fingerprint = fingerprint;
    }

    /// <summary>Evaluations read from the file when the run started.</summary>
    public int Resumed { get; private set; }

    /// <summary>True when the file ended in a record cut short (the run was stopped while writing it): that evaluation runs again.</summary>
    public bool DroppedTornRecord { get; private set; }

    /// <summary>Evaluations replayed so far (at most <see cref="Resumed"/>).</summary>
    public int Replayed => _position;

    public string Path => _path;

    /// <summary>True while recorded evaluations remain to be replayed (nothing is inferred until then).</summary>
    public bool Replaying => _position < _journal.Count;

    /// <summary>Opens the checkpoint at <paramref name="path"/>: resumes the journal it holds, or starts an empty one.</summary>
    public static SearchCheckpoint Open(string path, string fingerprint)
    {
        var checkpoint = new SearchCheckpoint(System.IO.Path.GetFullPath(path), fingerprint);
        OutputFiles.RefuseFolder(path, "CheckpointPath");
        if (File.Exists(checkpoint._path)) checkpoint.Read();
        return checkpoint;
    }

    /// <summary>
    /// The recorded result of the next evaluation, when the journal still holds one; its key must be the one asked
    /// for (the same search asks for the same evaluations in the same order).
    /// </summary>
    public bool TryReplay(string key, out EvaluationResult result)
    {
        result = null!;
        if (_position >= _journal.Count) return false;
        var (recorded, entry) = _journal[_position];
        if (!string.Equals(recorded, key, StringComparison.Ordinal))
            throw Mismatch($"its evaluation {_position + 1} is of another model ({Describe(recorded)}) than this run asks for ({Describe(key)})");
        _position++;
        using var reader = new BinaryReader(new MemoryStream(entry), Encoding.UTF8);
        reader.ReadString(); // the key
        result = ReadResult(reader);
        return true;
    }

    /// <summary>Appends a new evaluation to the file and flushes it to disk (the first one after the header, written with it).</summary>
    /// <param name="cancellation">Ends a wait for a lock held elsewhere (see <see cref="OpenForAppend"/>).</param>
    public void Record(string key, EvaluationResult result, CancellationToken cancellation = default)
    {
        if (_position < _journal.Count)
            throw new InvalidOperationException("A checkpoint records new evaluations only after its journal has been replayed.");
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(key);
            WriteResult(writer, result);
        }
        var entry = buffer.ToArray();
        _position++;
        if (_length == 0) WriteHeader();
        try
        {
            using var file = OpenForAppend(cancellation);
            if (file.Length != _length) file.SetLength(_length);
            file.Position = _length;
            var header = new byte[RecordHeader];
            BinaryPrimitives.WriteInt32LittleEndian(header, entry.Length);
            SHA256.HashData(entry).AsSpan(0, ChecksumBytes).CopyTo(header.AsSpan(4));
            file.Write(header);
            file.Write(entry);
            file.Flush(flushToDisk: true);
            _length += RecordHeader + entry.Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PotException("CheckpointWriteFailed", PotErrorCategory.WriteError, $"Could not write the checkpoint '{_path}': {e.Message}", _path);
        }
    }

    /// <summary>Tries to open the file for an append, <see cref="RetryDelay"/> apart, before a lock held elsewhere fails the run.</summary>
    private const int OpenAttempts = 10;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The file, opened for writing (others may read it). Another process may hold it for a moment (a virus scanner or a
    /// backup, on Windows especially): a run of hours should not fail for that, so the open is tried again for about two
    /// seconds, or until <paramref name="cancellation"/> (Ctrl+C). A file deleted meanwhile is not waited for.
    /// </summary>
    private FileStream OpenForAppend(CancellationToken cancellation)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return new FileStream(_path, FileMode.Open, FileAccess.Write, FileShare.Read);
            }
            catch (IOException) when (attempt < OpenAttempts && File.Exists(_path))
            {
                if (cancellation.WaitHandle.WaitOne(RetryDelay)) cancellation.ThrowIfCancellationRequested();
            }
        }
    }

    /// <summary>A new file with the header only (format, fingerprint), through a temporary file and a move.</summary>
    private void WriteHeader()
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Encoding.ASCII.GetBytes(Magic));
            writer.Write(Version);
            writer.Write(_fingerprint);
        }
        OutputFiles.Write(_path, overwrite: true, tmp =>
        {
            using var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write);
            buffer.Position = 0;
            buffer.CopyTo(file);
            file.Flush(flushToDisk: true);
        }, (full, e) => new PotException("CheckpointWriteFailed", PotErrorCategory.WriteError, $"Could not write the checkpoint '{full}': {e.Message}", full));
        _length = buffer.Length;
    }

    /// <summary>
    /// What the search depends on, hashed: the FP32 and the fully quantized model (model, calibration and quantization
    /// settings), the validation set's size and source, the metrics, and the options that steer the search.
    /// </summary>
    /// <param name="ranking">The rankings the search starts from (-Ranking), if given.</param>
    public static string Fingerprint(IQuantizedModelBuilder builder, IEvaluator evaluator, AccuracyAwareOptions o, IReadOnlyList<LayerRank>? ranking = null)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(builder.FloatModel.ToByteArray());
        sha.AppendData(builder.Build(System.Collections.Immutable.ImmutableHashSet<string>.Empty).ToByteArray());
        string I(int? v) => v?.ToString(CultureInfo.InvariantCulture) ?? "-";
        string D(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var text = new StringBuilder()
            .Append(evaluator.Data.Source).Append('|').Append(evaluator.Data.Count).Append('|')
            .AppendJoin(',', evaluator.Metrics.Select(m => m.Name + ":" + m.Direction)).Append('|')
            .AppendJoin(',', o.Metrics.Select(m => m.Name + "=" + (m.BaselineValue is { } b ? D(b) : "-"))).Append('|')
            .AppendJoin('|', D(o.MaximalDrop), o.DropType, I(o.RankingSubsetSize), I(o.MaxIterations), o.UsePreviousIfDropIncrease,
                o.ConvertToMixedPreset, D(o.MetricSubsetRatio), o.TuneHyperparameters, o.RankingMethod, o.ConfirmTopLayers, o.ConfirmOnFullSet,
                o.DecideEarly, o.BackwardPass, o.Quantization.Seed, o.AnnotationFree, D(o.AnnotationConfidenceThreshold)).Append('|')
            .AppendJoin(',', (ranking ?? Array.Empty<LayerRank>()).Select(r => r.Layer + "=" + D(r.Score)));
        // restore_mode changes every candidate with a reverted MatMul or Gemm (added only when not the default, so older checkpoints still match).
        if (o.RestoreMode != RestoreMode.ActivationsAndWeights) text.Append("|restore_mode=").Append(o.RestoreMode);
        sha.AppendData(Encoding.UTF8.GetBytes(text.ToString()));
        return Convert.ToHexString(sha.GetHashAndReset());
    }

    private void Read()
    {
        var info = new FileInfo(_path);
        if (info.Length > MaxBytes)
            throw Invalid($"it is {info.Length} bytes, more than the {MaxBytes} a checkpoint may have");
        byte[] bytes = File.ReadAllBytes(_path);
        try
        {
            using var reader = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
            if (Encoding.ASCII.GetString(reader.ReadBytes(Magic.Length)) != Magic) throw Invalid("it is not a PotPowerShell checkpoint");
            int version = reader.ReadInt32();
            if (version != Version) throw Invalid($"it has format version {version}; this PotPowerShell reads version {Version}");
            if (reader.ReadString() != _fingerprint)
                throw Mismatch("it was written by a run with another model, calibration, validation set, metrics or search options");
            long at = reader.BaseStream.Position;
            while (at < bytes.Length)
            {
                // Only the last record can be torn (appends are flushed one by one): cut short, or, after a crash, zeros or
                // stale bytes where its bytes should be (its checksum fails). Anything else that does not read is damage.
                if (bytes.Length - at < RecordHeader || bytes.AsSpan((int)at).IndexOfAnyExcept((byte)0) < 0)
                {
                    DroppedTornRecord = true;
                    break;
                }
                int length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan((int)at));
                if (length < 0) throw Invalid($"its record at byte {at} has a negative length");
                long end = at + RecordHeader + (long)length;
                if (end > bytes.Length)
                {
                    DroppedTornRecord = true;
                    break;
                }
                var entry = bytes.AsSpan((int)at + RecordHeader, length);
                if (!SHA256.HashData(entry).AsSpan(0, ChecksumBytes).SequenceEqual(bytes.AsSpan((int)at + 4, ChecksumBytes)))
                {
                    if (end != bytes.Length) throw Invalid($"its record at byte {at} fails its checksum");
                    DroppedTornRecord = true;
                    break;
                }
                using var record = new BinaryReader(new MemoryStream(bytes, (int)at + RecordHeader, length), Encoding.UTF8);
                string key = record.ReadString();
                ReadResult(record);
                if (record.BaseStream.Position != length) throw Invalid($"its record at byte {at} has bytes after its result");
                _journal.Add((key, entry.ToArray()));
                at = end;
            }
            _length = at;
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or FormatException or OverflowException or ArgumentException or DecoderFallbackException)
        {
            throw Invalid($"it is damaged ({e.Message.TrimEnd('.')})");
        }
        Resumed = _journal.Count;
    }

    private static void WriteResult(BinaryWriter w, EvaluationResult r)
    {
        w.Write(r.StoppedEarly);
        w.Write(r.Elapsed.Ticks);
        w.Write(r.BatchSize);
        w.Write(r.BatchFallback);
        w.Write(r.Inferences);
        w.Write(r.NonFiniteItems);
        w.Write(r.FirstNonFiniteItem ?? -1);
        w.Write(r.Items.Count);
        foreach (int i in r.Items) w.Write(i);
        w.Write(r.Values.Count);
        foreach (var (name, value) in r.Values.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            w.Write(name);
            w.Write(value);
        }
        WriteArrays(w, r.PerItem);
        WriteArrays(w, r.Signals);
        WriteArrays(w, r.Fragility);
    }

    private static EvaluationResult ReadResult(BinaryReader r)
    {
        bool stopped = r.ReadBoolean();
        var elapsed = TimeSpan.FromTicks(r.ReadInt64());
        int batchSize = r.ReadInt32();
        bool fallback = r.ReadBoolean();
        int inferences = r.ReadInt32();
        int nonFinite = r.ReadInt32();
        int first = r.ReadInt32();
        var items = new int[Count(r)];
        for (int i = 0; i < items.Length; i++) items[i] = r.ReadInt32();
        int values = Count(r);
        var v = new Dictionary<string, double>(StringComparer.Ordinal);
        for (int i = 0; i < values; i++) v[r.ReadString()] = r.ReadDouble();
        return new EvaluationResult(v, ReadArrays(r), items, elapsed)
        {
            StoppedEarly = stopped,
            BatchSize = batchSize,
            BatchFallback = fallback,
            Inferences = inferences,
            NonFiniteItems = nonFinite,
            FirstNonFiniteItem = first < 0 ? null : first,
            Signals = ReadArrays(r),
            Fragility = ReadArrays(r),
        };
    }

    private static void WriteArrays(BinaryWriter w, IReadOnlyDictionary<string, double[]> arrays)
    {
        w.Write(arrays.Count);
        foreach (var (name, values) in arrays.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            w.Write(name);
            w.Write(values.Length);
            foreach (double x in values) w.Write(x);
        }
    }

    private static Dictionary<string, double[]> ReadArrays(BinaryReader r)
    {
        int count = Count(r);
        var arrays = new Dictionary<string, double[]>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            string name = r.ReadString();
            var values = new double[Count(r)];
            for (int k = 0; k < values.Length; k++) values[k] = r.ReadDouble();
            arrays[name] = values;
        }
        return arrays;
    }

    /// <summary>A count read from the file, checked against what the rest of the file can hold.</summary>
    private static int Count(BinaryReader r)
    {
        int n = r.ReadInt32();
        if (n < 0 || n > r.BaseStream.Length - r.BaseStream.Position) throw new FormatException($"a count of {n} does not fit the file");
        return n;
    }

    private static string Describe(string key)
    {
        int bar = key.IndexOf('|');
        string tag = bar < 0 ? key.Split('#')[0] : key[..bar];
        int reverted = bar < 0 ? 0 : key[(bar + 1)..].Split('#')[0].Split('\u001f', StringSplitOptions.RemoveEmptyEntries).Length;
        return $"{tag}, {reverted} layer(s) float";
    }

    private PotException Invalid(string why) => new("CheckpointInvalid", PotErrorCategory.InvalidData,
        $"The checkpoint '{_path}' can't be resumed: {why}. Delete it to start the run afresh.", _path);

    private PotException Mismatch(string why) => new("CheckpointMismatch", PotErrorCategory.InvalidData,
        $"The checkpoint '{_path}' belongs to another run: {why}. Delete it to start afresh, or give this run another -CheckpointPath.", _path);
}
