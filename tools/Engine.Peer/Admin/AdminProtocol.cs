using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Engine.Peer.Hosting;

namespace Engine.Peer.Admin;

/// <summary>
/// The admin port's wire format: one JSON object per line (UTF-8, '\n'-terminated) each way. A client sends
/// <c>{"command":"status"}</c>; the peer answers <c>{"ok":true,"status":{...}}</c> or <c>{"ok":false,"error":"..."}</c>.
/// A connection may carry several requests in turn.
/// </summary>
internal static class AdminProtocol
{
    /// <summary>Longest request line the peer reads; a longer one is answered with an error and the connection closed.</summary>
    public const int MaxRequestBytes = 4096;

    /// <summary>Longest response line a client reads (a status with a very large membership view).</summary>
    public const int MaxResponseBytes = 256 * 1024 * 1024;

    public const string StatusCommand = "status";

    public static readonly IReadOnlyList<string> Commands = [StatusCommand];

    /// <summary>The serializer: source-generated, and without escaping quotes and non-ASCII so the JSON stays readable.</summary>
    public static readonly AdminJsonContext Json = new(new JsonSerializerOptions(AdminJsonContext.Default.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}

internal sealed record AdminRequest(string? Command);

internal sealed record AdminResponse(bool Ok, string? Error, PeerStatus? Status);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AdminRequest))]
[JsonSerializable(typeof(AdminResponse))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;
