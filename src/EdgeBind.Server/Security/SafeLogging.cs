using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace EdgeBind.Server.Security;

/// <summary>
/// Text from the network (a URL, a header, a pipeline name) may carry control characters that forge
/// log lines or drive a terminal; <see cref="Escape"/> writes them as visible escapes.
/// </summary>
public static class LogText
{
    /// <summary>
    /// <paramref name="text"/> with C0 and C1 control characters, DEL, line and paragraph separators and
    /// bidirectional overrides written as <c>\xNN</c> or <c>\uNNNN</c> (a backslash is doubled only when an
    /// escape was needed, so ordinary text is unchanged).
    /// </summary>
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text) || !text.Any(NeedsEscape))
        {
            return text ?? "";
        }
        var builder = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            if (c == '\\')
            {
                builder.Append(@"\\");
            }
            else if (NeedsEscape(c))
            {
                builder.Append(c <= 0xFF ? string.Create(CultureInfo.InvariantCulture, $"\\x{(int)c:X2}") : string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}"));
            }
            else
            {
                builder.Append(c);
            }
        }
        return builder.ToString();
    }

    private static bool NeedsEscape(char c) =>
        char.IsControl(c) || c is '\u2028' or '\u2029' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');
}

/// <summary>
/// The server's view of the host's logger factory: every message is escaped with <see cref="LogText"/>
/// after formatting, and ASP.NET Core's per-request information messages become debug messages (a
/// hostile client must not be able to flood the log at the default level; refusals are counted in
/// <c>/metrics</c> instead). The wrapped factory stays the caller's: disposing this does not dispose it.
/// </summary>
public sealed class SafeLoggerFactory : ILoggerFactory
{
    private readonly ILoggerFactory _inner;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    public SafeLoggerFactory(ILoggerFactory inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
    }

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName)
    {
        ArgumentNullException.ThrowIfNull(categoryName);
        return new SafeLogger(_inner.CreateLogger(categoryName), categoryName.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
    }

    /// <inheritdoc />
    public void AddProvider(ILoggerProvider provider) => _inner.AddProvider(provider);

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private sealed class SafeLogger(ILogger inner, bool demoteInformation) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(Level(logLevel));

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            inner.Log(Level(logLevel), eventId, state, exception, (s, e) => LogText.Escape(formatter(s, e)));
        }

        private LogLevel Level(LogLevel level) => demoteInformation && level == LogLevel.Information ? LogLevel.Debug : level;
    }
}
