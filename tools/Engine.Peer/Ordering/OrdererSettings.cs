using System.Globalization;
using Engine.Peer.Configuration;
using Engine.Transport;
using Microsoft.Extensions.Logging;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using P = Engine.Peer.Configuration.ConfigValueParsers;

namespace Engine.Peer.Ordering;

/// <summary>One channel the orderer serves: its orgs with their anchor peers (block #0), and how it cuts blocks.</summary>
internal sealed record OrdererChannelSettings(string Name, IReadOnlyList<(string Org, IReadOnlyList<PeerEndpoint> Anchors)> Orgs, double BlocksPerSecond, int BlockBytes);

/// <summary>
/// The orderer process's configuration (<c>Engine.Peer orderer --config orderer.yaml</c>, Engine's own format; Fabric
/// configures channels through configtx, not the orderer's own file). docs/CONFIGURATION.md describes every key.
/// </summary>
internal sealed class OrdererSettings
{
    public string OrdererId { get; set; } = "orderer0";

    /// <summary>Where the delivery service listens (framed TCP; UDP on the same port is bound and unused). Port 0 picks one.</summary>
    public PeerEndpoint ListenAddress { get; set; } = PeerEndpoint.Loopback(7050);

    public int MaxRetainedBlocks { get; set; } = 1_000;

    public List<OrdererChannelSettings> Channels { get; } = [];

    public bool AdminEnabled { get; set; } = true;

    public PeerEndpoint AdminListenAddress { get; set; } = PeerEndpoint.Loopback(8443);

    public LogLevel LogLevel { get; set; } = LogLevel.Information;

    public LogFormat LogFormat { get; set; } = LogFormat.Simple;

    /// <summary>
    /// Reads and checks <paramref name="yamlPath"/>; throws <see cref="ConfigException"/> listing every problem, each
    /// naming the key (dotted path, list items as [i]) and the file position.
    /// </summary>
    public static OrdererSettings Load(string yamlPath, string? logFormat = null)
    {
        var settings = new OrdererSettings();
        var errors = new List<ConfigError>();
        string text;
        try
        {
            text = File.ReadAllText(yamlPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ConfigException([new ConfigError("--config", yamlPath, $"cannot read the file: {e.Message}")]);
        }

        new Reader(Path.GetFileName(yamlPath), errors).Read(text, settings);
        if (logFormat is not null)
        {
            settings.LogFormat = Enum.Parse<LogFormat>(logFormat, ignoreCase: true);
        }

        if (errors.Count == 0 && settings.Channels.Count == 0)
        {
            errors.Add(new ConfigError("channels", Path.GetFileName(yamlPath), "no channel is configured: an orderer serves at least one (channels: [{name: mychannel, orgs: [{name: Org1}]}])"));
        }

        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        return settings;
    }

    private sealed class Reader(string source, List<ConfigError> errors)
    {
        private static readonly string[] Sections = ["orderer", "channels", "admin", "log"];

        public void Read(string text, OrdererSettings s)
        {
            var stream = new YamlStream();
            try
            {
                stream.Load(new StringReader(text));
            }
            catch (YamlException e)
            {
                errors.Add(new ConfigError("(file)", $"{source}:{e.Start.Line}:{e.Start.Column}", $"not valid YAML: {e.Message}"));
                return;
            }

            if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
            {
                errors.Add(new ConfigError("(file)", source, "expected one YAML document, a mapping of sections (orderer, channels, admin, log)"));
                return;
            }

            foreach (var (name, value) in Fields(root, "", Sections))
            {
                switch (name)
                {
                    case "orderer":
                        foreach (var (key, v) in Fields(value, "orderer.", ["id", "listenAddress", "maxRetainedBlocks"]))
                        {
                            switch (key)
                            {
                                case "id":
                                    Scalar(v, "orderer.id", t => string.IsNullOrWhiteSpace(t) ? "must not be empty" : Set(() => s.OrdererId = t.Trim()));
                                    break;
                                case "listenAddress":
                                    Scalar(v, "orderer.listenAddress", t => P.TryParseEndpoint(t, false, out var e, out string? why, allowPortZero: true) ? Set(() => s.ListenAddress = e) : why);
                                    break;
                                default:
                                    Scalar(v, "orderer.maxRetainedBlocks", t => P.TryParseInt(t, 1, 1_000_000, out int n, out string? why) ? Set(() => s.MaxRetainedBlocks = n) : why);
                                    break;
                            }
                        }

                        break;
                    case "channels":
                        ReadChannels(value, s);
                        break;
                    case "admin":
                        foreach (var (key, v) in Fields(value, "admin.", ["enabled", "listenAddress"]))
                        {
                            if (key == "enabled")
                            {
                                Scalar(v, "admin.enabled", t => P.TryParseBool(t, out bool b, out string? why) ? Set(() => s.AdminEnabled = b) : why);
                            }
                            else
                            {
                                Scalar(v, "admin.listenAddress", t =>
                                    !P.TryParseEndpoint(t, false, out var e, out string? why, allowPortZero: true) ? why
                                    : !System.Net.IPAddress.IsLoopback(e.ToIPAddress()) ? $"must be a loopback address (127.0.0.1 or [::1]), was {e}: the admin port is not authenticated and is for this host only"
                                    : Set(() => s.AdminListenAddress = e));
                            }
                        }

                        break;
                    default:
                        foreach (var (key, v) in Fields(value, "log.", ["level", "format"]))
                        {
                            if (key == "level")
                            {
                                Scalar(v, "log.level", t => Enum.TryParse<LogLevel>(t.Trim(), ignoreCase: true, out var l) && Enum.IsDefined(l) && !int.TryParse(t, CultureInfo.InvariantCulture, out _)
                                    ? Set(() => s.LogLevel = l) : $"'{t}' is not one of trace, debug, information, warning, error, critical, none");
                            }
                            else
                            {
                                Scalar(v, "log.format", t => t.Trim().ToLowerInvariant() is "simple" or "json"
                                    ? Set(() => s.LogFormat = Enum.Parse<LogFormat>(t.Trim(), ignoreCase: true)) : $"'{t}' is not one of simple, json");
                            }
                        }

                        break;
                }
            }
        }

        private void ReadChannels(YamlNode node, OrdererSettings s)
        {
            if (node is not YamlSequenceNode list)
            {
                errors.Add(new ConfigError("channels", Where(node), "expected a list of channels ({name, orgs, blocksPerSecond, blockBytes})"));
                return;
            }

            for (int i = 0; i < list.Children.Count; i++)
            {
                string path = $"channels[{i}]";
                string? name = null;
                bool named = false;
                double rate = 0;
                int bytes = 1024;
                var orgs = new List<(string, IReadOnlyList<PeerEndpoint>)>();
                foreach (var (key, v) in Fields(list.Children[i], path + ".", ["name", "orgs", "blocksPerSecond", "blockBytes"]))
                {
                    switch (key)
                    {
                        case "name":
                            named = true;
                            Scalar(v, path + ".name", t => PeerChannel.NameProblem(t.Trim()) is { } problem ? problem
                                : s.Channels.Any(c => c.Name == t.Trim()) ? $"channel {t.Trim()} is listed twice" : Set(() => name = t.Trim()));
                            break;
                        case "blocksPerSecond":
                            Scalar(v, path + ".blocksPerSecond", t =>
                                double.TryParse(t.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double r) && r is >= 0 and <= 10_000
                                    ? Set(() => rate = r) : $"'{t}' is not a rate between 0 (cut only on demand) and 10000 blocks per second");
                            break;
                        case "blockBytes":
                            Scalar(v, path + ".blockBytes", t => P.TryParseBytes(t, 0, 64 * 1024 * 1024, out int b, out string? why) ? Set(() => bytes = b) : why);
                            break;
                        default:
                            ReadOrgs(v, path + ".orgs", orgs);
                            break;
                    }
                }

                if (name is null)
                {
                    if (!named)
                    {
                        errors.Add(new ConfigError(path + ".name", Where(list.Children[i]), "is missing: every channel has a name"));
                    }
                }
                else if (orgs.Count == 0)
                {
                    errors.Add(new ConfigError(path + ".orgs", Where(list.Children[i]), $"channel {name} has no org: list its member orgs ({{name: Org1, anchorPeers: [...]}})"));
                }
                else
                {
                    s.Channels.Add(new OrdererChannelSettings(name, orgs, rate, bytes));
                }
            }
        }

        private void ReadOrgs(YamlNode node, string path, List<(string, IReadOnlyList<PeerEndpoint>)> orgs)
        {
            if (node is not YamlSequenceNode list)
            {
                errors.Add(new ConfigError(path, Where(node), "expected a list of orgs ({name, anchorPeers})"));
                return;
            }

            for (int i = 0; i < list.Children.Count; i++)
            {
                string org = $"{path}[{i}]";
                string? name = null;
                bool named = false;
                var anchors = new List<PeerEndpoint>();
                foreach (var (key, v) in Fields(list.Children[i], org + ".", ["name", "anchorPeers"]))
                {
                    if (key == "name")
                    {
                        named = true;
                        Scalar(v, org + ".name", t => string.IsNullOrWhiteSpace(t) ? "must not be empty"
                            : orgs.Any(o => o.Item1 == t.Trim()) ? $"org {t.Trim()} is listed twice" : Set(() => name = t.Trim()));
                    }
                    else
                    {
                        var items = v is YamlSequenceNode seq ? seq.Children.Select(c => (c as YamlScalarNode)?.Value ?? "?").ToList()
                            : v is YamlScalarNode { Value: var text } ? [.. P.SplitList(text ?? "")] : null;
                        if (items is null)
                        {
                            errors.Add(new ConfigError(org + ".anchorPeers", Where(v), "expected a list of host:port"));
                            continue;
                        }

                        for (int a = 0; a < items.Count; a++)
                        {
                            if (P.TryParseEndpoint(items[a], false, out var e, out string? why))
                            {
                                anchors.Add(e);
                            }
                            else
                            {
                                errors.Add(new ConfigError($"{org}.anchorPeers[{a}]", Where(v), why));
                            }
                        }
                    }
                }

                if (name is null)
                {
                    if (!named)
                    {
                        errors.Add(new ConfigError(org + ".name", Where(list.Children[i]), "is missing: every org has a name (its MSP id)"));
                    }
                }
                else
                {
                    orgs.Add((name, anchors));
                }
            }
        }

        /// <summary>The fields of a mapping, names in their canonical spelling; unknown ones become errors.</summary>
        private IEnumerable<(string Name, YamlNode Value)> Fields(YamlNode node, string prefix, string[] known)
        {
            if (node is YamlScalarNode { Value: null or "" })
            {
                yield break;
            }

            if (node is not YamlMappingNode mapping)
            {
                errors.Add(new ConfigError(prefix.TrimEnd('.'), Where(node), $"expected a mapping of {string.Join(", ", known)}"));
                yield break;
            }

            foreach (var (k, v) in mapping.Children)
            {
                string name = k is YamlScalarNode { Value: { } n } ? n : k.ToString();
                string? canonical = known.FirstOrDefault(f => string.Equals(f, name, StringComparison.OrdinalIgnoreCase));
                if (canonical is null)
                {
                    errors.Add(new ConfigError(prefix + name, Where(k), $"unknown key; known here: {string.Join(", ", known)} (docs/CONFIGURATION.md)"));
                    continue;
                }

                yield return (canonical, v);
            }
        }

        private void Scalar(YamlNode node, string path, Func<string, string?> apply)
        {
            if (node is not YamlScalarNode { Value: var text })
            {
                errors.Add(new ConfigError(path, Where(node), "expected a single value"));
                return;
            }

            if (apply(text ?? "") is { } error)
            {
                errors.Add(new ConfigError(path, Where(node), error));
            }
        }

        private static string? Set(Action set)
        {
            set();
            return null;
        }

        private string Where(YamlNode node) => $"{source}:{node.Start.Line}:{node.Start.Column}";
    }
}
