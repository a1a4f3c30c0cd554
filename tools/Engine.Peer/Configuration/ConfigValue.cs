namespace Engine.Peer.Configuration;

/// <summary>
/// One raw value for a key, before it is parsed: a scalar (YAML scalar, environment variable, --set) or a list
/// (a YAML sequence), and where it came from ("peer.yaml:12:5", "environment variable ENGINE_...", "--set").
/// </summary>
internal sealed record ConfigValue(string? Scalar, IReadOnlyList<string>? Items, string Source)
{
    public static ConfigValue Text(string text, string source) => new(text, null, source);

    public static ConfigValue List(IReadOnlyList<string> items, string source) => new(null, items, source);
}

/// <summary>One problem with the configuration: which key, where the value came from, what is wrong.</summary>
internal sealed record ConfigError(string Key, string Source, string Message)
{
    public override string ToString() => Source.Length == 0 ? $"{Key}: {Message}" : $"{Source}: {Key}: {Message}";
}

/// <summary>The configuration cannot be used; <see cref="Errors"/> lists every problem found.</summary>
internal sealed class ConfigException : Exception
{
    public ConfigException(IReadOnlyList<ConfigError> errors)
        : base(string.Join(Environment.NewLine, errors))
    {
        Errors = errors;
    }

    public ConfigException()
        : this([])
    {
    }

    public ConfigException(string message)
        : base(message)
    {
        Errors = [];
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [];
    }

    public IReadOnlyList<ConfigError> Errors { get; }
}
