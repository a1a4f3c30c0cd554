using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Engine.Transport;

namespace Engine.Peer.Configuration;

/// <summary>
/// Parses the text forms a configuration value may take. Every parser returns false with a sentence that says what is
/// wrong and what would be right; the caller adds the key and where the value came from.
/// </summary>
internal static class ConfigValueParsers
{
    /// <summary>
    /// A duration as Fabric writes it (Go's <c>time.ParseDuration</c>): a sequence of decimal numbers with units
    /// <c>ns us µs ms s m h</c>, such as "5s", "10ms", "1m30s", "1.5s". "0" alone is zero; any other number needs a unit.
    /// </summary>
    public static bool TryParseDuration(string text, out TimeSpan value, [NotNullWhen(false)] out string? error)
    {
        value = TimeSpan.Zero;
        string s = text.Trim();
        if (s.Length == 0)
        {
            error = "is empty; expected a duration such as 5s, 10ms or 1m30s";
            return false;
        }

        if (s == "0")
        {
            error = null;
            return true;
        }

        bool negative = false;
        int i = 0;
        if (s[0] is '-' or '+')
        {
            negative = s[0] == '-';
            i = 1;
        }

        decimal totalTicks = 0;
        bool any = false;
        while (i < s.Length)
        {
            int start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
            {
                i++;
            }

            if (i == start || !decimal.TryParse(s.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal number))
            {
                error = $"'{text}' is not a duration; expected a number followed by a unit (ns, us, ms, s, m, h), such as 5s, 10ms or 1m30s";
                return false;
            }

            int unitStart = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.')
            {
                i++;
            }

            decimal ticksPerUnit;
            switch (s[unitStart..i])
            {
                case "ns": ticksPerUnit = 0.01m; break;
                case "us" or "µs" or "μs": ticksPerUnit = 10m; break;
                case "ms": ticksPerUnit = TimeSpan.TicksPerMillisecond; break;
                case "s": ticksPerUnit = TimeSpan.TicksPerSecond; break;
                case "m": ticksPerUnit = TimeSpan.TicksPerMinute; break;
                case "h": ticksPerUnit = TimeSpan.TicksPerHour; break;
                case "":
                    error = $"'{text}' has no unit; write e.g. {number.ToString(CultureInfo.InvariantCulture)}s or {number.ToString(CultureInfo.InvariantCulture)}ms (units: ns, us, ms, s, m, h)";
                    return false;
                default:
                    error = $"'{text}' has an unknown unit '{s[unitStart..i]}'; units are ns, us, ms, s, m, h";
                    return false;
            }

            totalTicks += number * ticksPerUnit;
            if (totalTicks > TimeSpan.MaxValue.Ticks)
            {
                error = $"'{text}' is too long a duration";
                return false;
            }

            any = true;
        }

        if (!any)
        {
            error = $"'{text}' is not a duration; expected e.g. 5s, 10ms or 1m30s";
            return false;
        }

        long ticks = (long)decimal.Round(totalTicks);
        value = TimeSpan.FromTicks(negative ? -ticks : ticks);
        error = null;
        return true;
    }

    /// <summary>Formats a duration the way Fabric writes it ("5s", "10ms", "1m30s", "1.5s").</summary>
    public static string FormatDuration(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }

        if (value < TimeSpan.Zero)
        {
            return "-" + FormatDuration(value.Negate());
        }

        if (value.Ticks % TimeSpan.TicksPerSecond != 0 && value < TimeSpan.FromSeconds(1))
        {
            return value.Ticks % TimeSpan.TicksPerMillisecond == 0
                ? (value.Ticks / TimeSpan.TicksPerMillisecond).ToString(CultureInfo.InvariantCulture) + "ms"
                : (value.Ticks / 10.0).ToString(CultureInfo.InvariantCulture) + "us";
        }

        var text = new System.Text.StringBuilder();
        if (value.TotalHours >= 1)
        {
            text.Append((long)value.TotalHours).Append('h');
        }

        if (value.Minutes != 0)
        {
            text.Append(value.Minutes).Append('m');
        }

        long subMinuteTicks = value.Ticks % TimeSpan.TicksPerMinute;
        if (subMinuteTicks != 0)
        {
            text.Append((subMinuteTicks / (double)TimeSpan.TicksPerSecond).ToString(CultureInfo.InvariantCulture)).Append('s');
        }

        return text.ToString();
    }

    /// <summary>An integer within [min, max].</summary>
    public static bool TryParseInt(string text, int min, int max, out int value, [NotNullWhen(false)] out string? error)
    {
        if (!int.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value))
        {
            error = $"'{text}' is not a whole number";
            return false;
        }

        if (value < min || value > max)
        {
            error = max == int.MaxValue ? $"must be at least {min}, was {value}" : $"must be between {min} and {max}, was {value}";
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>A byte count: a whole number, optionally with a binary unit (B, KiB, MiB, GiB; K, M, G mean the same).</summary>
    public static bool TryParseBytes(string text, int min, int max, out int value, [NotNullWhen(false)] out string? error)
    {
        bool ok = TryParseBytes(text, (long)min, max, out long bytes, out error);
        value = ok ? (int)bytes : 0;
        return ok;
    }

    /// <summary>A byte count that may exceed an int (e.g. an archive's bytes), within [min, max].</summary>
    public static bool TryParseBytes(string text, long min, long max, out long value, [NotNullWhen(false)] out string? error)
    {
        value = 0;
        string s = text.Trim();
        int digits = 0;
        while (digits < s.Length && char.IsAsciiDigit(s[digits]))
        {
            digits++;
        }

        long multiplier;
        switch (s[digits..].Trim())
        {
            case "" or "B": multiplier = 1; break;
            case "K" or "KiB" or "KB": multiplier = 1024; break;
            case "M" or "MiB" or "MB": multiplier = 1024 * 1024; break;
            case "G" or "GiB" or "GB": multiplier = 1024 * 1024 * 1024; break;
            default:
                error = $"'{text}' is not a byte size; expected a whole number of bytes, optionally with KiB, MiB or GiB (e.g. 4096, 16MiB)";
                return false;
        }

        if (digits == 0 || !long.TryParse(s.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out long number))
        {
            error = $"'{text}' is not a byte size; expected a whole number of bytes, optionally with KiB, MiB or GiB (e.g. 4096, 16MiB)";
            return false;
        }

        if (number > max / multiplier || number * multiplier < min)
        {
            error = $"must be between {min} and {max} bytes, was {text.Trim()}";
            return false;
        }

        value = number * multiplier;
        error = null;
        return true;
    }

    /// <summary>true or false (any case).</summary>
    public static bool TryParseBool(string text, out bool value, [NotNullWhen(false)] out string? error)
    {
        if (bool.TryParse(text.Trim(), out value))
        {
            error = null;
            return true;
        }

        error = $"'{text}' is not true or false";
        return false;
    }

    /// <summary>
    /// host:port; an empty text is the empty endpoint when <paramref name="allowEmpty"/>; port 0 ("pick a free port")
    /// only when <paramref name="allowPortZero"/>, for addresses this peer binds.
    /// </summary>
    public static bool TryParseEndpoint(string text, bool allowEmpty, out PeerEndpoint value, [NotNullWhen(false)] out string? error,
        bool allowPortZero = false)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = allowEmpty ? null : "is empty; expected host:port, such as 127.0.0.1:7051";
            return allowEmpty;
        }

        string t = text.Trim();
        bool portZero = allowPortZero && t.EndsWith(":0", StringComparison.Ordinal);
        if (!PeerEndpoint.TryParse(portZero ? t[..^1] + "1" : t, out value, out string? why))
        {
            error = $"'{text}' is not host:port ({why})";
            return false;
        }

        if (portZero)
        {
            value = PeerEndpoint.FromAddress(value.ToIPAddress(), 0);
        }

        error = null;
        return true;
    }

    /// <summary>Splits a list written as one string, as Fabric's bootstrap is: items separated by spaces or commas.</summary>
    public static string[] SplitList(string text) =>
        text.Split([' ', ',', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
