using PotPowerShell.Core.Data;
using System.Runtime.CompilerServices;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// The items of every dataset of an engine, concatenated in engine order: item i of the second dataset has the index
/// (count of the first) + i. Items are read lazily from each dataset.
/// </summary>
public sealed class EngineDataset : IDataset, IDisposable
{
    private readonly List<IDataset> _parts;
    private readonly int[] _offsets;

    private EngineDataset(string source, List<IDataset> parts, IReadOnlyList<DatasetDefinition> definitions)
    {
        Source = source;
        _parts = parts;
        Definitions = definitions;
        _offsets = new int[parts.Count + 1];
        for (int i = 0; i < parts.Count; i++) _offsets[i + 1] = checked(_offsets[i] + parts[i].Count);
        var names = parts[0].InputNames.OrderBy(n => n, StringComparer.Ordinal).ToList();
        for (int i = 1; i < parts.Count; i++)
        {
            var other = parts[i].InputNames.OrderBy(n => n, StringComparer.Ordinal).ToList();
            if (!names.SequenceEqual(other))
                throw new PotException("EngineDatasetsDiffer", PotErrorCategory.InvalidData,
                    $"The datasets of '{source}' feed different model inputs: '{definitions[0].Name}' gives {string.Join(", ", names)} but '{definitions[i].Name}' gives {string.Join(", ", other)}. Every dataset must provide the same inputs.", source);
        }
        InputNames = parts[0].InputNames;
    }

    internal static EngineDataset Open(EngineDefinition engine)
    {
        var parts = new List<IDataset>();
        try
        {
            foreach (var d in engine.Datasets) parts.Add(OpenOne(d));
            return new EngineDataset(engine.Source, parts, engine.Datasets);
        }
        catch
        {
            foreach (var p in parts) (p as IDisposable)?.Dispose();
            throw;
        }
    }

    private static IDataset OpenOne(DatasetDefinition d)
    {
        IDataset data;
        bool textLabels = d.LabelsPath != null && d.LabelsPath.EndsWith(".txt", StringComparison.OrdinalIgnoreCase);
        if (d.Format == DatasetFormat.Npy)
        {
            bool npz = d.DataSource.EndsWith(".npz", StringComparison.OrdinalIgnoreCase) && File.Exists(d.DataSource);
            var arrays = new Dictionary<string, IItemArray>(StringComparer.Ordinal);
            IItemArray? labels = null;
            using var members = npz ? NpzArchive.Open(d.DataSource) : null;
            try
            {
                foreach (var (input, file) in d.InputFiles)
                    arrays[input] = members != null ? members.Take(file) : new NpyFileItemArray(file);
                if (d.LabelsArray != null && members != null) labels = members.Take(d.LabelsArray);
                else if (d.LabelsPath != null && !textLabels) labels = new NpyFileItemArray(d.LabelsPath);
                data = new NpyDataset(d.DataSource, arrays, labels);
            }
            catch
            {
                foreach (var a in arrays.Values) a.Dispose();
                labels?.Dispose();
                throw;
            }
        }
        else
        {
            IReadOnlyList<object?>? labels = null;
            if (d.LabelsPath != null)
                labels = textLabels ? TextFiles.ReadLines(d.LabelsPath).Cast<object?>().ToList() : ReadNpyLabels(d.LabelsPath);
            if (d.ImageList != null)
                data = ImageDataset.FromList(d.ImageList, d.InputName, d.Image!);
            else if (d.VocAnnotations != null)
                data = ImageDataset.FromDetections(d.DataSource, d.InputName, d.Image!, VocDetectionFolder.Read(d.VocAnnotations, d.ImagesetFile, d.Classes), d.ImagesetFile ?? d.VocAnnotations);
            else if (d.CvatAnnotations != null)
                data = ImageDataset.FromDetections(d.DataSource, d.InputName, d.Image!, CvatDetectionFile.Read(d.CvatAnnotations, d.CvatLabels), d.CvatAnnotations);
            else if (d.Conll is { } conll)
                data = ConllFile.Read(d.DataSource, WordPieceTokenizer.Load(d.VocabFile!, conll.LowerCase), conll, d.InputFiles);
            else if (d.Squad is { } squad)
                data = SquadFile.Read(d.DataSource, WordPieceTokenizer.Load(d.VocabFile!, squad.LowerCase), squad, d.InputFiles);
            else if (d.Reid is { } reid)
                data = ImageDataset.FromReid(d.DataSource, d.InputName, d.Image!, ReidFolders.Read(d.DataSource, reid, d.Extensions), d.DataSource);
            else if (d.ReidGallery != null)
                data = ImageDataset.FromReid(d.DataSource, d.InputName, d.Image!, ReidFolders.ReadLists(d.DataSource, d.ReidGallery, d.ReidQueries!), d.ReidGallery);
            else if (d.WiderAnnotations != null)
                data = ImageDataset.FromDetections(d.DataSource, d.InputName, d.Image!, WiderFaceFile.Read(d.WiderAnnotations), d.WiderAnnotations);
            else if (d.Masks != null && d.CamVidList != null)
                data = ImageDataset.FromCamVidList(d.DataSource, d.InputName, d.Image!, d.CamVidList, d.Masks, d.MaskColors);
            else if (d.Masks != null)
                data = ImageDataset.WithMasks(d.DataSource, d.InputName, d.Image!, d.Extensions, d.Masks, d.ImagePrefix, d.ImagePostfix, d.MaskPrefix, d.MaskPostfix,
                    d.MaskColors, d.ImagesetFile);
            else if (d.ClassFolders != null)
                data = ImageDataset.FromClassFolders(d.DataSource, d.InputName, d.Image!, ClassFolders.Read(d.ClassFolders, d.Extensions), d.ClassFolders);
            else
                data = ImageDataset.Open(d.DataSource, d.InputName, d.Image!, d.Extensions, d.AnnotationFile, d.FileColumn, d.LabelColumn, labels, d.AnnotationSeparator, d.LabelsPath, d.FilePattern,
                    d.CocoCategoryIds);
            textLabels = false;
        }
        if (textLabels)
        {
            var lines = TextFiles.ReadLines(d.LabelsPath!);
            data = new LabeledDataset(data, lines.Count, i => lines[i], d.LabelsPath!);
        }
        if (d.SubsampleSize is int size && size < data.Count) data = SubsetDataset.Sample(data, size, d.SubsampleSeed);
        return data;
    }

    private static List<object?> ReadNpyLabels(string path)
    {
        using var array = new NpyFileItemArray(path);
        var result = new List<object?>((int)array.Count);
        for (int i = 0; i < array.Count; i++) result.Add(NpyDataset.LabelAt(array, i));
        return result;
    }

    public string Source { get; }
    public int Count => _offsets[^1];
    public IReadOnlyList<string> InputNames { get; }
    public bool HasAnnotations => _parts.All(p => p.HasAnnotations);

    /// <summary>The dataset definitions, in the order their items appear.</summary>
    public IReadOnlyList<DatasetDefinition> Definitions { get; }

    /// <summary>Which dataset (index into <see cref="Definitions"/>) an item belongs to.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int DatasetOf(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
        if (_offsets.Length == 2) return 0;
        int p = Array.BinarySearch(_offsets, index);
        if (p < 0) p = ~p - 1;
        // Skip empty parts that share an offset.
        while (p + 1 < _offsets.Length - 1 && _offsets[p + 1] <= index) p++;
        return p;
    }

    public DataItem Get(int index)
    {
        int p = DatasetOf(index);
        return _parts[p].Get(index - _offsets[p]) with { Index = index };
    }

    public void Dispose()
    {
        foreach (var p in _parts) (p as IDisposable)?.Dispose();
    }
}
