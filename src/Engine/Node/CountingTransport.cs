using Engine.Transport;

namespace Engine.Node;

/// <summary>
/// The node's transport as the dissemination components see it: sends pass straight through and are counted, so the
/// node's statistics cover everything it sends (discovery counts its own).
/// </summary>
internal sealed class CountingTransport(ITransport inner) : ITransport
{
    private long _datagrams;
    private long _frames;
    private long _bytes;

    public PeerEndpoint LocalEndpoint => inner.LocalEndpoint;

    public int MaxDatagramPayload => inner.MaxDatagramPayload;

    public int MaxFramePayload => inner.MaxFramePayload;

    public long DatagramsSent => Interlocked.Read(ref _datagrams);

    public long FramesSent => Interlocked.Read(ref _frames);

    public long BytesSent => Interlocked.Read(ref _bytes);

    public ValueTask StartAsync(ITransportHandler handler, CancellationToken cancellationToken = default) =>
        throw new InvalidOperationException("The node starts its transport itself.");

    public SendStatus SendDatagram(PeerEndpoint destination, ReadOnlySpan<byte> payload)
    {
        var status = inner.SendDatagram(destination, payload);
        if (status == SendStatus.Sent)
        {
            Interlocked.Increment(ref _datagrams);
            Interlocked.Add(ref _bytes, payload.Length);
        }

        return status;
    }

    public SendStatus SendFrame(PeerEndpoint destination, ReadOnlySpan<byte> payload)
    {
        var status = inner.SendFrame(destination, payload);
        if (status == SendStatus.Sent)
        {
            Interlocked.Increment(ref _frames);
            Interlocked.Add(ref _bytes, payload.Length);
        }

        return status;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
