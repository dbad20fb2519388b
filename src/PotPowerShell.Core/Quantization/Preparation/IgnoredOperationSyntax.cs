using System.Globalization;
using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// The command-line form of an ignored operation: 'Type' or 'Type:name=value;name=value', e.g. 'Softmax' or
/// 'Conv:group=32;kernel_shape=[3,3]'. Values are compared as IgnoredScope does (numbers numerically, lists element-wise).
/// </summary>
public static class IgnoredOperationSyntax
{
    public static IgnoredOperation Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        string type = (colon < 0 ? text : text[..colon]).Trim();
        if (type.Length == 0) throw Invalid(text, "it names no op type");
        if (colon < 0) return new IgnoredOperation(type);
        var attributes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in text[(colon + 1)..].Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == part.Length - 1) throw Invalid(text, $"'{part}' is not name=value");
            attributes[part[..eq].Trim()] = part[(eq + 1)..].Trim();
        }
        return new IgnoredOperation(type, attributes);
    }

    private static PotException Invalid(string text, string why) =>
        new("IgnoredOperationInvalid", PotErrorCategory.InvalidArgument,
            string.Format(CultureInfo.InvariantCulture,
                "The ignored operation '{0}' is not valid: {1}. Write 'Type' or 'Type:attribute=value;attribute=value', e.g. 'Conv:group=32'.", text, why),
            text);
}
