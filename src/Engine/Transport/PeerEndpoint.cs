using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Engine.Transport;

/// <summary>
/// A peer's network address: an IP address and a port, stored inline so it can be a dictionary key and be
/// compared and hashed without allocating. A peer listens for datagrams (UDP) and streams (TCP) on the same port.
/// </summary>
public readonly struct PeerEndpoint : IEquatable<PeerEndpoint>, IComparable<PeerEndpoint>
{
    // The address in IPv6 form (IPv4 mapped to ::ffff:a.b.c.d), as two big-endian halves.
    private readonly ulong _high;
    private readonly ulong _low;

    private PeerEndpoint(ulong high, ulong low, ushort port)
    {
        _high = high;
        _low = low;
        Port = port;
    }

    /// <summary>The port (UDP and TCP).</summary>
    public ushort Port { get; }

    /// <summary>True for an IPv4 (or IPv4-mapped) address.</summary>
    public bool IsIPv4 => _high == 0 && (_low >> 32) == 0xFFFF;

    /// <summary>True when this is the default (unset) endpoint.</summary>
    public bool IsEmpty => _high == 0 && _low == 0 && Port == 0;

    /// <summary>Creates an endpoint for an IPv4 address given in host order (127.0.0.1 is 0x7F000001).</summary>
    public static PeerEndpoint FromIPv4(uint address, ushort port) => new(0, 0xFFFF_0000_0000UL | address, port);

    /// <summary>The loopback address 127.0.0.1 with the given port.</summary>
    public static PeerEndpoint Loopback(ushort port) => FromIPv4(0x7F00_0001, port);

    /// <summary>Creates an endpoint from an <see cref="IPEndPoint"/>.</summary>
    public static PeerEndpoint FromIPEndPoint(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        return FromAddress(endPoint.Address, (ushort)endPoint.Port);
    }

    /// <summary>Creates an endpoint from an address and a port.</summary>
    public static PeerEndpoint FromAddress(IPAddress address, ushort port)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes[12..], out _);
            bytes[10] = 0xFF;
            bytes[11] = 0xFF;
        }
        else
        {
            address.TryWriteBytes(bytes, out _);
        }

        return new PeerEndpoint(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]), port);
    }

    /// <summary>Writes the 16-byte IPv6 (or IPv4-mapped) form of the address.</summary>
    internal void WriteAddressBytes(Span<byte> destination16)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination16, _high);
        BinaryPrimitives.WriteUInt64BigEndian(destination16[8..], _low);
    }

    /// <summary>The IPv4 address in host order; only meaningful when <see cref="IsIPv4"/>.</summary>
    internal uint IPv4Address => (uint)_low;

    internal static PeerEndpoint FromIPv6Bytes(ReadOnlySpan<byte> address16, ushort port) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(address16), BinaryPrimitives.ReadUInt64BigEndian(address16[8..]), port);

    /// <summary>The address as an <see cref="IPAddress"/> (allocates; not for hot paths).</summary>
    public IPAddress ToIPAddress()
    {
        if (IsIPv4)
        {
            Span<byte> v4 = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(v4, IPv4Address);
            return new IPAddress(v4);
        }

        Span<byte> v6 = stackalloc byte[16];
        WriteAddressBytes(v6);
        return new IPAddress(v6);
    }

    /// <summary>The endpoint as an <see cref="IPEndPoint"/> (allocates; not for hot paths).</summary>
    public IPEndPoint ToIPEndPoint() => new(ToIPAddress(), Port);

    /// <summary>Parses "host:port" where host is an IPv4 address, "[v6]", or "localhost".</summary>
    public static PeerEndpoint Parse(string text)
    {
        if (!TryParse(text, out var endpoint, out var error))
        {
            throw new FormatException($"'{text}' is not a valid endpoint: {error}");
        }

        return endpoint;
    }

    /// <summary>Tries to parse "host:port"; on failure <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out PeerEndpoint endpoint, [NotNullWhen(false)] out string? error)
    {
        endpoint = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "it is empty";
            return false;
        }

        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            error = "expected host:port";
            return false;
        }

        var hostPart = text.AsSpan(0, colon);
        if (hostPart.Length > 2 && hostPart[0] == '[' && hostPart[^1] == ']')
        {
            hostPart = hostPart[1..^1];
        }

        if (!ushort.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out ushort port) || port == 0)
        {
            error = "the port must be a number from 1 to 65535";
            return false;
        }

        IPAddress? address;
        if (hostPart.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            address = IPAddress.Loopback;
        }
        else if (!IPAddress.TryParse(hostPart, out address))
        {
            error = $"'{hostPart}' is not an IP address (host names other than localhost are not resolved)";
            return false;
        }

        endpoint = FromAddress(address, port);
        error = null;
        return true;
    }

    /// <inheritdoc/>
    public bool Equals(PeerEndpoint other) => _high == other._high && _low == other._low && Port == other.Port;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is PeerEndpoint other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_high, _low, Port);

    /// <inheritdoc/>
    public int CompareTo(PeerEndpoint other)
    {
        int c = _high.CompareTo(other._high);
        if (c != 0)
        {
            return c;
        }

        c = _low.CompareTo(other._low);
        return c != 0 ? c : Port.CompareTo(other.Port);
    }

    /// <summary>Equality.</summary>
    public static bool operator ==(PeerEndpoint left, PeerEndpoint right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(PeerEndpoint left, PeerEndpoint right) => !left.Equals(right);

    /// <summary>Ordering.</summary>
    public static bool operator <(PeerEndpoint left, PeerEndpoint right) => left.CompareTo(right) < 0;

    /// <summary>Ordering.</summary>
    public static bool operator >(PeerEndpoint left, PeerEndpoint right) => left.CompareTo(right) > 0;

    /// <summary>Ordering.</summary>
    public static bool operator <=(PeerEndpoint left, PeerEndpoint right) => left.CompareTo(right) <= 0;

    /// <summary>Ordering.</summary>
    public static bool operator >=(PeerEndpoint left, PeerEndpoint right) => left.CompareTo(right) >= 0;

    /// <summary>"a.b.c.d:port" or "[v6]:port".</summary>
    public override string ToString()
    {
        if (IsIPv4)
        {
            uint a = IPv4Address;
            return string.Create(CultureInfo.InvariantCulture, $"{a >> 24}.{(a >> 16) & 0xFF}.{(a >> 8) & 0xFF}.{a & 0xFF}:{Port}");
        }

        return string.Create(CultureInfo.InvariantCulture, $"[{ToIPAddress()}]:{Port}");
    }
}
