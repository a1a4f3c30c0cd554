using System.Diagnostics.CodeAnalysis;
using Engine.Transport;

namespace Engine.Peer.Configuration;

/// <summary>
/// A channel the peer joins at start (an item of <c>peer.channels</c>): its name and the orderer whose delivery service
/// hands out its genesis block and, to the org's leader, its blocks. Written <c>NAME@HOST:PORT</c>, or in YAML as a
/// mapping <c>{name: mychannel, orderer: 127.0.0.1:7050}</c>.
/// </summary>
internal sealed record PeerChannel(string Name, PeerEndpoint Orderer)
{
    /// <summary>Fabric's rule for channel names (configtx): at most 249 characters.</summary>
    public const int MaxNameLength = 249;

    /// <summary>The fields of the mapping form.</summary>
    public static readonly IReadOnlyList<string> Fields = ["name", "orderer"];

    public override string ToString() => $"{Name}@{Orderer}";

    /// <summary>Parses <c>NAME@HOST:PORT</c>; false with what is wrong.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out PeerChannel? channel, [NotNullWhen(false)] out string? error)
    {
        channel = null;
        string t = text.Trim();
        int at = t.IndexOf('@', StringComparison.Ordinal);
        if (at < 0)
        {
            error = "expected NAME@HOST:PORT (the channel and its orderer), e.g. mychannel@127.0.0.1:7050";
            return false;
        }

        string name = t[..at];
        if (NameProblem(name) is { } problem)
        {
            error = problem;
            return false;
        }

        if (!ConfigValueParsers.TryParseEndpoint(t[(at + 1)..], allowEmpty: false, out var orderer, out string? why))
        {
            error = "orderer: " + why;
            return false;
        }

        channel = new PeerChannel(name, orderer);
        error = null;
        return true;
    }

    /// <summary>Why <paramref name="name"/> is not a channel name (Fabric's rule: [a-z][a-z0-9.-]*, at most 249), or null.</summary>
    public static string? NameProblem(string name)
    {
        if (name.Length == 0)
        {
            return "the channel name is empty";
        }

        if (name.Length > MaxNameLength
            || name[0] is < 'a' or > 'z'
            || name.Any(c => c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-')))
        {
            return $"'{(name.Length > 64 ? name[..64] + "..." : name)}' is not a channel name: lower-case letters, digits, '.' and '-', starting with a letter, at most {MaxNameLength} characters (Fabric's rule)";
        }

        return null;
    }

    /// <summary>The mapping form's fields to the text form.</summary>
    public static (string? Item, string? Error) FromFields(IReadOnlyDictionary<string, string> fields)
    {
        foreach (string field in fields.Keys)
        {
            if (!Fields.Contains(field))
            {
                return (null, $"unknown field '{field}'; a channel has {string.Join(" and ", Fields)}");
            }
        }

        if (!fields.TryGetValue("name", out string? name) || string.IsNullOrWhiteSpace(name))
        {
            return (null, "the channel has no name (field 'name')");
        }

        if (!fields.TryGetValue("orderer", out string? orderer) || string.IsNullOrWhiteSpace(orderer))
        {
            return (null, $"channel {name.Trim()} has no orderer (field 'orderer', HOST:PORT)");
        }

        return ($"{name.Trim()}@{orderer.Trim()}", null);
    }
}
