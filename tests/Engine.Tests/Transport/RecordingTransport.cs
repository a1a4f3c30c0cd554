using Engine.Protocol;
using Engine.Transport;

namespace Engine.Tests.Transport;

/// <summary>
/// A transport that sends nowhere and records what a component under test sent (copies of the payloads): for unit tests
/// of one component without a network. Not thread-safe.
/// </summary>
internal sealed class RecordingTransport : ITransport
{
    public List<(PeerEndpoint Destination, byte[] Payload)> Datagrams { get; } = [];

    public List<(PeerEndpoint Destination, byte[] Payload)> Frames { get; } = [];

    /// <summary>The destinations of the datagrams sent, in order.</summary>
    public List<PeerEndpoint> DatagramDestinations => Datagrams.ConvertAll(d => d.Destination);

    public PeerEndpoint LocalEndpoint { get; init; } = PeerEndpoint.FromIPv4(0x0A00_0063u, 7051);

    public int MaxDatagramPayload { get; init; } = 1400;

    public int MaxFramePayload => 1 << 20;

    public ValueTask StartAsync(ITransportHandler handler, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public SendStatus SendDatagram(PeerEndpoint destination, ReadOnlySpan<byte> payload)
    {
        Datagrams.Add((destination, payload.ToArray()));
        return SendStatus.Sent;
    }

    public SendStatus SendFrame(PeerEndpoint destination, ReadOnlySpan<byte> payload)
    {
        Frames.Add((destination, payload.ToArray()));
        return SendStatus.Sent;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>The envelope records of a datagram body (<see cref="EnvelopeBatch"/>), asserting the body is well formed.</summary>
    public static List<byte[]> Records(byte[] body)
    {
        var list = new List<byte[]>();
        var reader = new EnvelopeBatch.Reader(body);
        while (reader.TryRead(out var envelope))
        {
            list.Add(envelope.ToArray());
        }

        Assert.That(reader.Malformed, Is.False);
        return list;
    }
}
