using System.Collections;
using System.Net;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Engine.Peer.Configuration;

/// <summary>
/// Builds <see cref="PeerSettings"/> from, lowest precedence first: the defaults, the YAML file, environment variables
/// ENGINE_&lt;SECTION&gt;_&lt;KEY&gt;, and <c>--set key=value</c>. Every value is parsed and checked where it comes from;
/// every problem is collected and reported together, each naming the key (dotted path) and where the value came from.
/// </summary>
internal static class PeerConfigLoader
{
    public const string EnvironmentPrefix = "ENGINE_";

    /// <summary>Loads and validates; throws <see cref="ConfigException"/> listing every problem.</summary>
    public static PeerSettings Load(string? yamlPath, IDictionary? environment, IReadOnlyList<string> sets)
    {
        var settings = new PeerSettings();
        var errors = new List<ConfigError>();
        var values = new List<(ConfigKey Key, ConfigValue Value)>();

        if (yamlPath is not null)
        {
            string text;
            try
            {
                text = File.ReadAllText(yamlPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                throw new ConfigException([new ConfigError("--config", yamlPath, $"cannot read the file: {e.Message}")]);
            }

            values.AddRange(ReadYaml(text, Path.GetFileName(yamlPath), errors));
        }

        if (environment is not null)
        {
            values.AddRange(ReadEnvironment(environment, errors));
        }

        values.AddRange(ReadSets(sets, errors));

        foreach (var (key, value) in values)
        {
            if (key.TryApply(value, settings, out string? error))
            {
                settings.Sources[key.Path] = value.Source;
            }
            else
            {
                errors.Add(new ConfigError(key.Path, value.Source, error));
            }
        }

        if (errors.Count == 0)
        {
            CheckTogether(settings, errors);
        }

        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        return settings;
    }

    /// <summary>Reads a YAML document into (key, value) pairs; unknown keys and misplaced values become errors.</summary>
    internal static List<(ConfigKey Key, ConfigValue Value)> ReadYaml(string text, string sourceName, List<ConfigError> errors)
    {
        var result = new List<(ConfigKey, ConfigValue)>();
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            errors.Add(new ConfigError("(file)", $"{sourceName}:{e.Start.Line}:{e.Start.Column}", $"not valid YAML: {Describe(e)}"));
            return result;
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            return result; // an empty file sets nothing
        }

        if (stream.Documents.Count > 1)
        {
            errors.Add(new ConfigError("(file)", sourceName, "holds more than one YAML document; the peer reads one"));
            return result;
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            errors.Add(new ConfigError("(file)", Where(sourceName, stream.Documents[0].RootNode), "expected a mapping of sections (peer, gossip, transport, admin, log)"));
            return result;
        }

        ReadMapping(root, "", sourceName, result, errors);
        return result;
    }

    private static void ReadMapping(YamlMappingNode mapping, string prefix, string sourceName,
        List<(ConfigKey, ConfigValue)> result, List<ConfigError> errors)
    {
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            string name = keyNode is YamlScalarNode { Value: { } v } ? v : keyNode.ToString();
            string path = prefix + name;
            string where = Where(sourceName, keyNode);
            if (ConfigSchema.Find(path) is { } key)
            {
                switch (valueNode)
                {
                    case YamlScalarNode scalar:
                        result.Add((key, ConfigValue.Text(scalar.Value ?? "", Where(sourceName, scalar))));
                        break;
                    case YamlSequenceNode sequence:
                        var items = new List<string>();
                        for (int i = 0; i < sequence.Children.Count; i++)
                        {
                            var item = sequence.Children[i];
                            if (item is YamlScalarNode { Value: { } s })
                            {
                                items.Add(s);
                            }
                            else if (item is YamlMappingNode fields && key.MappingItem is { } convert)
                            {
                                if (MappingItem(fields, convert, $"{key.Path}[{i}]", sourceName, errors) is { } text)
                                {
                                    items.Add(text);
                                }
                            }
                            else
                            {
                                errors.Add(new ConfigError(key.Path, Where(sourceName, item),
                                    key.MappingItem is null ? "list items must be plain values" : "list items must be plain values or mappings"));
                            }
                        }

                        result.Add((key, ConfigValue.List(items, Where(sourceName, sequence))));
                        break;
                    default:
                        errors.Add(new ConfigError(key.Path, where, $"expected a value ({key.Type}), found a section"));
                        break;
                }
            }
            else if (ConfigSchema.IsSection(path))
            {
                if (valueNode is YamlMappingNode inner)
                {
                    ReadMapping(inner, path + ".", sourceName, result, errors);
                }
                else if (valueNode is not YamlScalarNode { Value: null or "" })
                {
                    errors.Add(new ConfigError(path, where, "is a section and holds keys, not a value"));
                }
            }
            else
            {
                errors.Add(new ConfigError(path, where, UnknownKey(path)));
            }
        }
    }

    /// <summary>One list item written as a YAML mapping (e.g. a channel's {name, orderer}): its text form, or null after adding the errors.</summary>
    private static string? MappingItem(YamlMappingNode mapping, Func<IReadOnlyDictionary<string, string>, (string? Item, string? Error)> convert,
        string path, string sourceName, List<ConfigError> errors)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (fieldNode, valueNode) in mapping.Children)
        {
            string field = (fieldNode is YamlScalarNode { Value: { } f } ? f : fieldNode.ToString()).ToLowerInvariant();
            if (valueNode is not YamlScalarNode { Value: var v })
            {
                errors.Add(new ConfigError($"{path}.{field}", Where(sourceName, valueNode), "expected a single value"));
                return null;
            }

            fields[field] = v ?? "";
        }

        var (item, error) = convert(fields);
        if (error is not null)
        {
            errors.Add(new ConfigError(path, Where(sourceName, mapping), error));
        }

        return item;
    }

    /// <summary>Environment variables ENGINE_&lt;SECTION&gt;_...; variables of other sections are not the peer's and are ignored.</summary>
    internal static List<(ConfigKey Key, ConfigValue Value)> ReadEnvironment(IDictionary environment, List<ConfigError> errors)
    {
        var result = new List<(ConfigKey, ConfigValue)>();
        var names = new List<string>();
        foreach (DictionaryEntry entry in environment)
        {
            if (entry.Key is string name && name.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase))
            {
                names.Add(name);
            }
        }

        names.Sort(StringComparer.Ordinal); // deterministic order of errors
        foreach (string name in names)
        {
            string[] segments = name[EnvironmentPrefix.Length..].Split('_');
            if (!ConfigSchema.Sections.Contains(segments[0], StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            string path = string.Join('.', segments);
            string source = $"environment variable {name}";
            if (ConfigSchema.Find(path) is { } key)
            {
                result.Add((key, ConfigValue.Text(environment[name] as string ?? "", source)));
            }
            else
            {
                errors.Add(new ConfigError(path.ToLowerInvariant(), source, UnknownKey(path)));
            }
        }

        return result;
    }

    /// <summary>--set key=value, in the order given (a later one wins).</summary>
    internal static List<(ConfigKey Key, ConfigValue Value)> ReadSets(IReadOnlyList<string> sets, List<ConfigError> errors)
    {
        var result = new List<(ConfigKey, ConfigValue)>();
        foreach (string set in sets)
        {
            int eq = set.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                errors.Add(new ConfigError(set, "--set", "expected key=value, such as gossip.aliveTimeInterval=2s"));
                continue;
            }

            string path = set[..eq].Trim();
            if (ConfigSchema.Find(path) is { } key)
            {
                result.Add((key, ConfigValue.Text(set[(eq + 1)..], "--set")));
            }
            else
            {
                errors.Add(new ConfigError(path, "--set", ConfigSchema.IsSection(path) ? "is a section and holds keys, not a value" : UnknownKey(path)));
            }
        }

        return result;
    }

    /// <summary>Rules between keys, then the node's and transport's own validation, mapped back to key names.</summary>
    private static void CheckTogether(PeerSettings settings, List<ConfigError> errors)
    {
        if (settings.OrgLeader && settings.UseLeaderElection)
        {
            errors.Add(new ConfigError("gossip.orgLeader", SourceOf(settings, "gossip.orgLeader"),
                "cannot be true while gossip.useLeaderElection is true: a peer is either its org's static leader or takes part in elections"));
        }

        if (settings.Channels.Count > 0 && settings.TlsEnabled)
        {
            errors.Add(new ConfigError("peer.channels", SourceOf(settings, "peer.channels"),
                "cannot be used with peer.tls.enabled yet: the orderer process (`Engine.Peer orderer`) speaks plain framed TCP, so a mutual-TLS peer could not reach it"));
        }

        var admin = settings.AdminListenAddress;
        if (settings.AdminEnabled && !IPAddress.IsLoopback(admin.ToIPAddress()))
        {
            errors.Add(new ConfigError("admin.listenAddress", SourceOf(settings, "admin.listenAddress"),
                $"must be a loopback address (127.0.0.1 or [::1]), was {admin}: the admin port is not authenticated and is for this host only"));
        }

        // The rules between two keys, stated in the configuration's own words; Validate() below catches the rest.
        var g = settings.Gossip;
        if (g.AliveExpirationTimeout <= g.AliveTimeInterval)
        {
            errors.Add(new ConfigError("gossip.aliveExpirationTimeout", SourceOf(settings, "gossip.aliveExpirationTimeout"),
                $"({ConfigValueParsers.FormatDuration(g.AliveExpirationTimeout)}) must be longer than gossip.aliveTimeInterval "
                + $"({ConfigValueParsers.FormatDuration(g.AliveTimeInterval)}), or every peer would expire between heartbeats"));
        }

        if (g.Transport.ReconnectBackoffMax < g.Transport.ReconnectBackoffInitial)
        {
            errors.Add(new ConfigError("transport.reconnectBackoffMax", SourceOf(settings, "transport.reconnectBackoffMax"),
                $"({ConfigValueParsers.FormatDuration(g.Transport.ReconnectBackoffMax)}) must be at least transport.reconnectBackoffInitial "
                + $"({ConfigValueParsers.FormatDuration(g.Transport.ReconnectBackoffInitial)})"));
        }

        if (g.State.BatchSize > g.Ledger.BlockBufferSize)
        {
            errors.Add(new ConfigError("gossip.state.batchSize", SourceOf(settings, "gossip.state.batchSize"),
                $"({g.State.BatchSize}) must be at most gossip.state.blockBufferSize ({g.Ledger.BlockBufferSize}), "
                + "or the blocks of a batch beyond the reorder buffer would be refused"));
        }

        if (errors.Count > 0)
        {
            return;
        }

        settings.Gossip.Transport.ListenEndpoint = settings.EffectiveListenAddress;
        try
        {
            settings.Gossip.Validate();
        }
        catch (ArgumentException e)
        {
            var key = e.ParamName is null ? null : ConfigSchema.FindByOptionName(e.ParamName);
            string path = key?.Path ?? e.ParamName ?? "(options)";
            errors.Add(new ConfigError(path, SourceOf(settings, path), OptionMessage(e)));
        }
    }

    /// <summary>"Gossip option X must be ... (Parameter 'X')" becomes "must be ...".</summary>
    internal static string OptionMessage(ArgumentException e)
    {
        string message = e.Message;
        int parameter = message.LastIndexOf(" (Parameter '", StringComparison.Ordinal);
        if (parameter > 0)
        {
            message = message[..parameter];
        }

        if (e.ParamName is { } name)
        {
            int at = message.IndexOf(" " + name + " ", StringComparison.Ordinal);
            if (at >= 0 && message.Contains(" option ", StringComparison.Ordinal))
            {
                message = message[(at + name.Length + 2)..];
            }
        }

        return message.TrimEnd('.');
    }

    private static string SourceOf(PeerSettings settings, string path) =>
        settings.Sources.TryGetValue(path, out string? source) ? source : "default";

    private static string UnknownKey(string path) =>
        ConfigSchema.Suggest(path) is { } suggestion
            ? $"unknown key (did you mean {suggestion}?); docs/CONFIGURATION.md lists every key"
            : "unknown key; docs/CONFIGURATION.md lists every key";

    private static string Where(string sourceName, YamlNode node) => $"{sourceName}:{node.Start.Line}:{node.Start.Column}";

    private static string Describe(YamlException e) =>
        e.InnerException is { } inner && !string.IsNullOrEmpty(inner.Message) ? $"{e.Message} ({inner.Message})" : e.Message;
}
