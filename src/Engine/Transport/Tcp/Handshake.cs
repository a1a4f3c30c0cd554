using System.Buffers;
using System.Net;
using Engine.Protocol;
using Google.Protobuf;

namespace Engine.Transport.Tcp;

/// <summary>
/// The first frame each side sends on a stream: a <see cref="ConnEstablish"/> whose Engine-only field 100 names the
/// sender's listening endpoint, which is the key both sides file the connection under.
/// </summary>
internal static class Handshake
{
    /// <summary>Handshake bodies are tiny; anything larger is refused before parsing.</summary>
    public const int MaxBodyLength = 4096;

    public static byte[] Create(PeerEndpoint listeningEndpoint) =>
        new ConnEstablish { Endpoint = listeningEndpoint.ToString() }.ToByteArray();

    /// <summary>
    /// Reads the sender's listening endpoint. An unspecified address (the sender bound 0.0.0.0 or ::) is replaced by the
    /// address the connection came from.
    /// </summary>
    public static bool TryParse(in ReadOnlySequence<byte> body, PeerEndpoint remoteAddress, out PeerEndpoint endpoint, out string? problem)
    {
        endpoint = default;
        if (body.Length > MaxBodyLength)
        {
            problem = $"handshake of {body.Length} bytes exceeds {MaxBodyLength}";
            return false;
        }

        ConnEstablish message;
        try
        {
            message = ConnEstablish.Parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException e)
        {
            problem = $"not a ConnEstablish ({e.Message})";
            return false;
        }

        if (!PeerEndpoint.TryParse(message.Endpoint, out endpoint, out string? error))
        {
            problem = $"endpoint '{message.Endpoint}' is invalid: {error}";
            return false;
        }

        var address = endpoint.ToIPAddress();
        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            Span<byte> bytes = stackalloc byte[16];
            remoteAddress.WriteAddressBytes(bytes);
            endpoint = PeerEndpoint.FromIPv6Bytes(bytes, endpoint.Port);
        }

        problem = null;
        return true;
    }
}
