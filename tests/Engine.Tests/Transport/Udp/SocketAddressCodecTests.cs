using System.Net;
using System.Net.Sockets;
using Engine.Transport;
using Engine.Transport.Udp;

namespace Engine.Tests.Transport.Udp;

public sealed class SocketAddressCodecTests
{
    [TestCase("192.168.7.9:7051")]
    [TestCase("127.0.0.1:1")]
    [TestCase("[2001:db8::17]:65535")]
    [TestCase("[::1]:9000")]
    public void TryRead_ParsesWhatIPEndPointSerializes(string text)
    {
        var expected = PeerEndpoint.Parse(text);
        var serialized = expected.ToIPEndPoint().Serialize();

        Assert.That(SocketAddressCodec.TryRead(serialized, out var endpoint), Is.True);
        Assert.That(endpoint, Is.EqualTo(expected));
    }

    [TestCase("192.168.7.9:7051", AddressFamily.InterNetwork)]
    [TestCase("[2001:db8::17]:65535", AddressFamily.InterNetworkV6)]
    public void TryWrite_ProducesTheSameBytesAsIPEndPointSerialize(string text, AddressFamily family)
    {
        var endpoint = PeerEndpoint.Parse(text);
        var address = new SocketAddress(family);
        var earlier = PeerEndpoint.Parse(family == AddressFamily.InterNetwork ? "10.1.2.3:4" : "[fe80::1:2:3]:4");
        var expected = endpoint.ToIPEndPoint().Serialize();

        // The address is reused between sends: an earlier destination must leave nothing behind.
        Assert.That(SocketAddressCodec.TryWrite(earlier, address), Is.True);
        Assert.That(SocketAddressCodec.TryWrite(endpoint, address), Is.True);
        Assert.That(address.Size, Is.EqualTo(expected.Size));
        Assert.That(address.Buffer[..address.Size].ToArray(), Is.EqualTo(expected.Buffer[..expected.Size].ToArray()));
    }

    [Test]
    public void TryWrite_IPv4IntoAnIPv6Address_UsesTheMappedForm()
    {
        var address = new SocketAddress(AddressFamily.InterNetworkV6);

        Assert.That(SocketAddressCodec.TryWrite(PeerEndpoint.Parse("10.0.0.5:80"), address), Is.True);
        var mapped = new IPEndPoint(IPAddress.Parse("::ffff:10.0.0.5"), 80).Serialize();
        Assert.That(address.Buffer[..address.Size].ToArray(), Is.EqualTo(mapped.Buffer[..mapped.Size].ToArray()));
        Assert.That(SocketAddressCodec.TryRead(address, out var back), Is.True);
        Assert.That(back, Is.EqualTo(PeerEndpoint.Parse("10.0.0.5:80")));
    }

    [Test]
    public void TryWrite_IPv6IntoAnIPv4Address_IsRefused()
    {
        var address = new SocketAddress(AddressFamily.InterNetwork);

        Assert.That(SocketAddressCodec.TryWrite(PeerEndpoint.Parse("[::1]:80"), address), Is.False);
    }
}
