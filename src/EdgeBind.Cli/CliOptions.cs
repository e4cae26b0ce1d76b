using System.CommandLine;
using System.Globalization;
using EdgeBind.Core.IO;

namespace EdgeBind.Cli;

/// <summary>Options shared by several commands, each with its bounds checked while parsing (a bad value is exit 2 with a named error).</summary>
public static class CliOptions
{
    /// <summary>Longest duration a command takes, s (30 days).</summary>
    public const double MaxSeconds = 30 * 86400;

    /// <summary>A duration in seconds: a finite number in (0, <see cref="MaxSeconds"/>].</summary>
    public static Option<double?> Seconds(string name, string description, params string[] aliases) => new(name, aliases)
    {
        Description = description,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Join(' ', result.Tokens.Select(t => t.Value));
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) && value is > 0 and <= MaxSeconds)
            {
                return value;
            }
            result.AddError($"{name}: expected a number of seconds greater than 0 and at most {MaxSeconds:F0} (30 days), found '{TextClip.Clip(text)}'");
            return null;
        },
    };
}
