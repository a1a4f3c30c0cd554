using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Engine.Transport.Udp;

/// <summary>
/// Reads and writes <see cref="PeerEndpoint"/> values straight from and into a <see cref="SocketAddress"/>'s native
/// sockaddr bytes, so receiving and sending need no <see cref="System.Net.IPEndPoint"/>. Layout (all platforms .NET
/// supports): sockaddr_in has the port at bytes 2-3 (big-endian) and the IPv4 address at 4-7; sockaddr_in6 has the port at
/// 2-3, the flow info at 4-7, the address at 8-23 and the scope id at 24-27. The family bytes are left to
/// <see cref="SocketAddress"/> itself, since their layout differs between platforms.
/// </summary>
internal static class SocketAddressCodec
{
    public const int IPv4Size = 16;
    public const int IPv6Size = 28;

    /// <summary>Reads the endpoint from a received address; false for a family other than IPv4/IPv6.</summary>
    public static bool TryRead(SocketAddress address, out PeerEndpoint endpoint)
    {
        var bytes = address.Buffer.Span;
        switch (address.Family)
        {
            case AddressFamily.InterNetwork when address.Size >= 8:
                endpoint = PeerEndpoint.FromIPv4(BinaryPrimitives.ReadUInt32BigEndian(bytes[4..]), BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]));
                return true;
            case AddressFamily.InterNetworkV6 when address.Size >= 24:
                endpoint = PeerEndpoint.FromIPv6Bytes(bytes.Slice(8, 16), BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]));
                return true;
            default:
                endpoint = default;
                return false;
        }
    }

    /// <summary>
    /// Fills <paramref name="address"/> (created for its family) with <paramref name="endpoint"/>. An IPv6 address takes any
    /// endpoint (IPv4 as ::ffff:a.b.c.d, for dual-mode sockets); an IPv4 address only takes IPv4 endpoints.
    /// </summary>
    public static bool TryWrite(PeerEndpoint endpoint, SocketAddress address)
    {
        var bytes = address.Buffer.Span;
        if (address.Family == AddressFamily.InterNetwork)
        {
            if (!endpoint.IsIPv4)
            {
                return false;
            }

            address.Size = IPv4Size;
            BinaryPrimitives.WriteUInt16BigEndian(bytes[2..], endpoint.Port);
            BinaryPrimitives.WriteUInt32BigEndian(bytes[4..], endpoint.IPv4Address);
            bytes[8..IPv4Size].Clear();
            return true;
        }

        if (address.Family == AddressFamily.InterNetworkV6)
        {
            address.Size = IPv6Size;
            BinaryPrimitives.WriteUInt16BigEndian(bytes[2..], endpoint.Port);
            bytes.Slice(4, 4).Clear();
            endpoint.WriteAddressBytes(bytes.Slice(8, 16));
            bytes.Slice(24, 4).Clear();
            return true;
        }

        return false;
    }
}
