using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace PotPowerShell.Core.Config;

/// <summary>
/// Reads YAML into the neutral tree from YamlDotNet's event stream, typing plain scalars by the YAML 1.2 core schema
/// (so <c>300</c> is an integer, <c>"300"</c> a string, <c>yes</c> a string) and keeping each scalar's text and style
/// as written (<see cref="ConfigScalar.Written"/>, <see cref="ConfigScalar.Quoted"/>). Anchors, aliases and &lt;&lt; merge keys
/// work; duplicate keys are reported as problems; several documents in one file are an error. <see cref="TreeLimits"/>
/// are checked before the tree is built.
/// </summary>
internal static class YamlConfigReader
{
    private static readonly Regex IntPattern = new(@"^[-+]?[0-9]+$", RegexOptions.CultureInvariant);
    private static readonly Regex FloatPattern = new(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant);

    public static ConfigNode Read(string text, string path, List<ConfigProblem> problems, DocumentKind kind)
    {
        var anchors = new Dictionary<string, ConfigNode>();
        try
        {
            // Limits first: the reading below recurses and shares aliased nodes, which later walks expand.
            TreeLimits.CheckYaml(text, path, kind.ErrorPrefix);
            var parser = new Parser(new StringReader(text));
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _))
                throw kind.SyntaxError(path, ConfigFormat.Yaml, "the file is empty", 1);
            parser.Consume<DocumentStart>();
            if (parser.Accept<DocumentEnd>(out _))
                throw kind.SyntaxError(path, ConfigFormat.Yaml, "the file is empty", 1);
            var root = ReadNode(parser, anchors, "", problems);
            parser.Consume<DocumentEnd>();
            if (parser.Accept<DocumentStart>(out var second))
                throw kind.SyntaxError(path, ConfigFormat.Yaml, "the file holds more than one YAML document ('---'); keep one", (int)second.Start.Line);
            return root;
        }
        catch (YamlException e)
        {
            string detail = e.Message;
            // YamlDotNet prefixes its message with the position, which our message already gives.
            int close = detail.IndexOf("): ", StringComparison.Ordinal);
            if (detail.StartsWith("(", StringComparison.Ordinal) && close > 0) detail = detail[(close + 3)..];
            throw kind.SyntaxError(path, ConfigFormat.Yaml, detail, (int)e.Start.Line, e);
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's scanner throws this (without a position) on some unterminated flow collections.
            throw kind.SyntaxError(path, ConfigFormat.Yaml, "the YAML ends inside an unclosed [ ], { } or quote", 0, e);
        }
    }

    private static ConfigNode ReadNode(IParser parser, Dictionary<string, ConfigNode> anchors, string keyPath, List<ConfigProblem> problems)
    {
        if (parser.TryConsume<AnchorAlias>(out var alias))
        {
            if (anchors.TryGetValue(alias.Value.Value, out var target)) return target;
            throw new YamlException(alias.Start, alias.End, $"the alias *{alias.Value.Value} has no anchor &{alias.Value.Value} before it");
        }
        ConfigNode node;
        NodeEvent start;
        if (parser.TryConsume<Scalar>(out var scalar))
        {
            start = scalar;
            node = ToScalar(scalar);
        }
        else if (parser.TryConsume<SequenceStart>(out var seq))
        {
            start = seq;
            var list = new ConfigList((int)seq.Start.Line);
            while (!parser.TryConsume<SequenceEnd>(out _))
                list.Add(ReadNode(parser, anchors, ConfigKeyPath.Item(keyPath, list.Count), problems));
            node = list;
        }
        else
        {
            var mapStart = parser.Consume<MappingStart>();
            start = mapStart;
            node = ReadMap(parser, anchors, keyPath, problems, (int)mapStart.Start.Line);
        }
        if (!start.Anchor.IsEmpty) anchors[start.Anchor.Value] = node;
        return node;
    }

    private static ConfigMap ReadMap(IParser parser, Dictionary<string, ConfigNode> anchors, string keyPath, List<ConfigProblem> problems, int line)
    {
        var map = new ConfigMap(line);
        var merges = new List<ConfigNode>();
        while (!parser.TryConsume<MappingEnd>(out _))
        {
            if (!parser.TryConsume<Scalar>(out var key))
            {
                var current = parser.Current!;
                throw new YamlException(current.Start, current.End, "a key must be a plain text, not a list or a map");
            }
            string childPath = ConfigKeyPath.Child(keyPath, key.Value);
            var value = ReadNode(parser, anchors, childPath, problems);
            if (key.Value == "<<" && key.Style == ScalarStyle.Plain)
            {
                merges.Add(value);
                continue;
            }
            if (!map.Add(key.Value, value, (int)key.Start.Line))
                problems.Add(new ConfigProblem(childPath, null, "the key appears twice in the same section; keep one.", (int)key.Start.Line));
        }
        // Merge keys (<<: *base): entries written in the map itself win over merged ones.
        foreach (var merge in merges)
        {
            var sources = merge is ConfigList l ? l.Items : new[] { merge };
            foreach (var source in sources)
            {
                if (source is not ConfigMap m)
                {
                    problems.Add(new ConfigProblem(ConfigKeyPath.Child(keyPath, "<<"), source.Describe(), "a merge key (<<) needs a map or a list of maps.", source.Line));
                    continue;
                }
                foreach (var e in m.Entries) map.Add(e.Key, e.Value, m.KeyLine(e.Key));
            }
        }
        return map;
    }

    /// <summary>What a plain (unquoted) scalar with this text reads as.</summary>
    internal static ScalarKind TypeOfPlain(string text) =>
        ToScalar(new Scalar(AnchorName.Empty, TagName.Empty, text, ScalarStyle.Plain, true, false)).Kind;

    /// <summary>Types a scalar by the YAML 1.2 core schema and keeps its text and style as written.</summary>
    private static ConfigScalar ToScalar(Scalar s)
    {
        var (kind, text) = Type(s);
        return new ConfigScalar(kind, text, (int)s.Start.Line, s.Value, s.Style != ScalarStyle.Plain);
    }

    private static (ScalarKind Kind, string Text) Type(Scalar s)
    {
        string tag = s.Tag.IsEmpty ? "" : s.Tag.Value;
        string v = s.Value;
        if (tag == "tag:yaml.org,2002:str" || (s.Style != ScalarStyle.Plain && tag.Length == 0))
            return (ScalarKind.String, v);
        switch (v)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return (ScalarKind.Null, "null");
            case "true" or "True" or "TRUE":
                return (ScalarKind.Boolean, "true");
            case "false" or "False" or "FALSE":
                return (ScalarKind.Boolean, "false");
            case ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF":
                return (ScalarKind.Float, ".inf");
            case "-.inf" or "-.Inf" or "-.INF":
                return (ScalarKind.Float, "-.inf");
            case ".nan" or ".NaN" or ".NAN":
                return (ScalarKind.Float, ".nan");
        }
        if (IntPattern.IsMatch(v))
            return (ScalarKind.Integer, v.TrimStart('+'));
        if (v.StartsWith("0x", StringComparison.Ordinal) && v.Length > 2 &&
            BigInteger.TryParse("0" + v[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
            return (ScalarKind.Integer, hex.ToString(CultureInfo.InvariantCulture));
        if (v.StartsWith("0o", StringComparison.Ordinal) && v.Length > 2 && v[2..].All(c => c is >= '0' and <= '7'))
            return (ScalarKind.Integer, v[2..].Aggregate(BigInteger.Zero, (a, c) => a * 8 + (c - '0')).ToString(CultureInfo.InvariantCulture));
        if (FloatPattern.IsMatch(v))
            return (ScalarKind.Float, v);
        return (ScalarKind.String, v);
    }
}
