using Engine.Transport;

namespace Engine.Benchmarks;

/// <summary>A transport that accepts every send and drops it: a benchmark measures the code above it, not a network.</summary>
internal sealed class DiscardTransport(PeerEndpoint local) : ITransport
{
    public DiscardTransport()
        : this(PeerEndpoint.FromIPv4(0x0A00_0001, 7051))
    {
    }

    public PeerEndpoint LocalEndpoint => local;

    public int MaxDatagramPayload => 1400;

    public int MaxFramePayload => 16 * 1024 * 1024;

    public ValueTask StartAsync(ITransportHandler handler, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public SendStatus SendDatagram(PeerEndpoint destination, ReadOnlySpan<byte> payload) => SendStatus.Sent;

    public SendStatus SendFrame(PeerEndpoint destination, ReadOnlySpan<byte> payload) => SendStatus.Sent;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
