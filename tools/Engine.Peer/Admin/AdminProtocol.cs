using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Engine.Peer.Hosting;
using Engine.Peer.Ordering;

namespace Engine.Peer.Admin;

/// <summary>
/// The admin port's wire format: one JSON object per line (UTF-8, '\n'-terminated) each way. A client sends
/// <c>{"command":"status"}</c>; a peer answers <c>{"ok":true,"status":{...}}</c>, an orderer
/// <c>{"ok":true,"orderer":{...}}</c>, either <c>{"ok":false,"error":"..."}</c> when it cannot. An orderer also takes
/// <c>{"command":"cut","channel":"mychannel","bytes":1024}</c> (answered with <c>"block":N</c>) and
/// <c>{"command":"anchors","channel":"mychannel","org":"Org1","anchors":["127.0.0.1:7051"]}</c>.
/// A connection may carry several requests in turn.
/// </summary>
internal static class AdminProtocol
{
    /// <summary>Longest request line the peer reads; a longer one is answered with an error and the connection closed.</summary>
    public const int MaxRequestBytes = 4096;

    /// <summary>Longest response line a client reads (a status with a very large membership view).</summary>
    public const int MaxResponseBytes = 256 * 1024 * 1024;

    public const string StatusCommand = "status";

    public const string CutCommand = "cut";

    public const string AnchorsCommand = "anchors";

    /// <summary>What a peer's admin port answers.</summary>
    public static readonly IReadOnlyList<string> Commands = [StatusCommand];

    /// <summary>What an orderer's admin port answers.</summary>
    public static readonly IReadOnlyList<string> OrdererCommands = [StatusCommand, CutCommand, AnchorsCommand];

    /// <summary>The serializer: source-generated, and without escaping quotes and non-ASCII so the JSON stays readable.</summary>
    public static readonly AdminJsonContext Json = new(new JsonSerializerOptions(AdminJsonContext.Default.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}

internal sealed record AdminRequest(string? Command, string? Channel = null, string? Org = null, IReadOnlyList<string>? Anchors = null, int? Bytes = null);

internal sealed record AdminResponse(bool Ok, string? Error, PeerStatus? Status, OrdererStatus? Orderer = null, ulong? Block = null);

/// <summary>A request the admin port understood but cannot carry out (unknown channel, bad argument); the message says why.</summary>
internal sealed class AdminRequestException : Exception
{
    public AdminRequestException()
    {
    }

    public AdminRequestException(string message)
        : base(message)
    {
    }

    public AdminRequestException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AdminRequest))]
[JsonSerializable(typeof(AdminResponse))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;
