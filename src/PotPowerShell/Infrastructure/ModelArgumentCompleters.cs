using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using PotPowerShell.Core;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Infrastructure;

/// <summary>
/// Completes -IgnoredScope with the node names of the model named on the same command line: -ModelPath, or the model of
/// -Config (a PotConfig in a variable, or the path of a config file).
/// </summary>
public sealed class NodeNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        ModelNodes.Complete(fakeBoundParameters, wordToComplete,
            nodes => nodes.Select(n => (n.Name, $"{n.Name}: {n.OpType}{(n.Quantizable ? ", a quantizable layer" : "")}")));
}

/// <summary>Completes -IgnoredOpType with the op types of the model named on the same command line (as <see cref="NodeNameCompleter"/>).</summary>
public sealed class OpTypeCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        ModelNodes.Complete(fakeBoundParameters, wordToComplete,
            nodes => nodes.GroupBy(n => n.OpType).Select(g => (g.Key, $"{g.Key}: {g.Count()} node(s)")));
}

/// <summary>Reads the nodes of the model a command line names, for the completers; the last model read is kept.</summary>
internal static class ModelNodes
{
    private static readonly object Gate = new();
    private static Cached? _last;

    private sealed record Cached(string Path, DateTime Written, IReadOnlyList<NodeDescription> Nodes);

    /// <param name="values">Each completion and its tooltip.</param>
    public static IEnumerable<CompletionResult> Complete(IDictionary bound, string word,
        Func<IReadOnlyList<NodeDescription>, IEnumerable<(string Value, string ToolTip)>> values)
    {
        string prefix = word.Trim('\'', '"');
        var nodes = Read(bound);
        if (nodes == null) return Array.Empty<CompletionResult>();
        return values(nodes)
            .Where(v => v.Value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .OrderBy(v => v.Value, StringComparer.OrdinalIgnoreCase)
            .Select(v => new CompletionResult(Quote(v.Value), v.Value, CompletionResultType.ParameterValue, v.ToolTip))
            .ToList();
    }

    /// <summary>Single quotes around a value PowerShell would not read as one bare word.</summary>
    private static string Quote(string value) =>
        value.Length > 0 && value.All(c => char.IsLetterOrDigit(c) || c is '_' or '/' or '.' or ':' or '-') && value[0] != '-'
            ? value
            : "'" + value.Replace("'", "''") + "'";

    /// <summary>The nodes of the model of -ModelPath or -Config, or null when there is none or it cannot be read.</summary>
    private static IReadOnlyList<NodeDescription>? Read(IDictionary bound)
    {
        try
        {
            string? model = ModelPathOf(bound);
            if (model == null || !File.Exists(model)) return null;
            var written = File.GetLastWriteTimeUtc(model);
            lock (Gate)
            {
                if (_last is { } last && last.Path == model && last.Written == written) return last.Nodes;
                var nodes = PotModelInspector.Nodes(OnnxModelFile.Load(model));
                _last = new Cached(model, written, nodes);
                return nodes;
            }
        }
        catch (PotException)
        {
            return null; // an unreadable model or config completes nothing; running the command reports why
        }
    }

    private static string? ModelPathOf(IDictionary bound)
    {
        if (bound["ModelPath"] is { } path) return Resolve(Unwrap(path)?.ToString());
        return Unwrap(bound["Config"]) switch
        {
            PotConfig config => config.Model.ModelPath,
            string file => Resolve(file) is { } resolved && File.Exists(resolved) ? PotConfigLoader.Load(resolved).Model.ModelPath : null,
            _ => null,
        };
    }

    private static object? Unwrap(object? value) => value is PSObject o ? o.BaseObject : value;

    /// <summary>A path relative to the current PowerShell location, as the cmdlet resolves it.</summary>
    private static string? Resolve(string? path) =>
        string.IsNullOrEmpty(path) ? null
            : ScriptBlock.Create("$ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($args[0])").Invoke(path)
                .Select(o => o?.ToString()).FirstOrDefault();
}
