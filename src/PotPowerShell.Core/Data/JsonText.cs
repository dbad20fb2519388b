using System.Text.Json;

namespace PotPowerShell.Core.Data;

/// <summary>JSON strings as text: JsonDocument parses strings whose bytes or escapes are no UTF-8 or UTF-16 text, and fails only when they are read.</summary>
internal static class JsonText
{
    /// <summary>The string's text, or the reader's own error from <paramref name="invalid"/> where it is no text.</summary>
    public static string Read(JsonElement text, Func<Exception, PotException> invalid)
    {
        try
        {
            return text.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw invalid(e);
        }
    }
}
