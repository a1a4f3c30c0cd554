using System.Buffers.Text;
using System.Text;
using Engine.Transport;

namespace Engine.Discovery;

/// <summary>
/// The "host:port" text of an alive message's <c>Member.endpoint</c>, read and written as UTF-8 spans. IPv4 (the common
/// case) is parsed and formatted without allocating; other forms go through <see cref="PeerEndpoint.TryParse"/>.
/// </summary>
internal static class EndpointText
{
    /// <summary>The longest endpoint text accepted ("[ipv6%scope]:port" fits easily).</summary>
    public const int MaxLength = 64;

    public static byte[] ToUtf8(PeerEndpoint endpoint) => Encoding.UTF8.GetBytes(endpoint.ToString());

    /// <summary>Writes the text of <paramref name="endpoint"/>; returns its length (at most <see cref="MaxLength"/>).</summary>
    public static int Format(PeerEndpoint endpoint, Span<byte> destination)
    {
        if (endpoint.IsIPv4)
        {
            uint a = endpoint.IPv4Address;
            int n = 0;
            for (int shift = 24; shift >= 0; shift -= 8)
            {
                Utf8Formatter.TryFormat((a >> shift) & 0xFF, destination[n..], out int w);
                n += w;
                destination[n++] = shift == 0 ? (byte)':' : (byte)'.';
            }

            Utf8Formatter.TryFormat(endpoint.Port, destination[n..], out int p);
            return n + p;
        }

        return Encoding.UTF8.GetBytes(endpoint.ToString(), destination);
    }

    public static bool TryParse(ReadOnlySpan<byte> text, out PeerEndpoint endpoint)
    {
        endpoint = default;
        if (text.IsEmpty || text.Length > MaxLength)
        {
            return false;
        }

        if (TryParseIPv4(text, out endpoint))
        {
            return true;
        }

        // Rare (IPv6, "localhost"): allocates a string.
        return PeerEndpoint.TryParse(Encoding.UTF8.GetString(text), out endpoint, out _);
    }

    private static bool TryParseIPv4(ReadOnlySpan<byte> text, out PeerEndpoint endpoint)
    {
        endpoint = default;
        uint address = 0;
        int position = 0;
        for (int octet = 0; octet < 4; octet++)
        {
            if (!Utf8Parser.TryParse(text[position..], out uint value, out int consumed) || consumed is 0 or > 3 || value > 255)
            {
                return false;
            }

            address = (address << 8) | value;
            position += consumed;
            byte separator = octet < 3 ? (byte)'.' : (byte)':';
            if (position >= text.Length || text[position] != separator)
            {
                return false;
            }

            position++;
        }

        if (!Utf8Parser.TryParse(text[position..], out uint port, out int portLength) || position + portLength != text.Length
            || port is 0 or > ushort.MaxValue || text[position] is (byte)'+' or (byte)'-')
        {
            return false;
        }

        endpoint = PeerEndpoint.FromIPv4(address, (ushort)port);
        return true;
    }
}
