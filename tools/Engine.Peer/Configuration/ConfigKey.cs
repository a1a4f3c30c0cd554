using System.Diagnostics.CodeAnalysis;

namespace Engine.Peer.Configuration;

/// <summary>
/// One configuration key: its dotted path, type, default (as written in YAML), meaning, and how a value is parsed
/// into <see cref="PeerSettings"/> and read back out.
/// </summary>
internal sealed class ConfigKey
{
    private readonly Func<ConfigValue, PeerSettings, string?> _apply;
    private readonly Func<PeerSettings, string> _read;

    public ConfigKey(string path, string type, string defaultText, string description,
        Func<ConfigValue, PeerSettings, string?> apply, Func<PeerSettings, string> read)
    {
        Path = path;
        Type = type;
        DefaultText = defaultText;
        Description = description;
        _apply = apply;
        _read = read;
    }

    /// <summary>The dotted path, as written in YAML and --set ("gossip.aliveTimeInterval").</summary>
    public string Path { get; }

    /// <summary>The environment variable that sets this key (ENGINE_ + the path upper-cased, dots as underscores).</summary>
    public string EnvironmentVariable => "ENGINE_" + Path.Replace('.', '_').ToUpperInvariant();

    /// <summary>The value's type, as the docs name it (duration, int, bool, endpoint, ...).</summary>
    public string Type { get; }

    /// <summary>The default, as it would be written in YAML.</summary>
    public string DefaultText { get; }

    public string Description { get; }

    /// <summary>The option property whose validation error (ArgumentException.ParamName) belongs to this key.</summary>
    public string? OptionName { get; init; }

    /// <summary>
    /// When not null, the key is a list whose YAML items may also be mappings: this turns one item's fields (names
    /// lower-cased) into the item's text form, or says what is wrong with them.
    /// </summary>
    public Func<IReadOnlyDictionary<string, string>, (string? Item, string? Error)>? MappingItem { get; init; }

    /// <summary>When not null, the key is accepted and validated but has no effect yet; this says why.</summary>
    public string? NotInEffect { get; init; }

    /// <summary>Parses <paramref name="value"/> into <paramref name="settings"/>; false with what is wrong.</summary>
    public bool TryApply(ConfigValue value, PeerSettings settings, [NotNullWhen(false)] out string? error)
    {
        error = _apply(value, settings);
        return error is null;
    }

    /// <summary>The key's current value in <paramref name="settings"/>, written as YAML would write it.</summary>
    public string Read(PeerSettings settings) => _read(settings);
}
