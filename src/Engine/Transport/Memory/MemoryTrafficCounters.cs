namespace Engine.Transport.Memory;

/// <summary>
/// Traffic counters of one node or of a whole <see cref="MemoryNetwork"/>. On a node, "sent" and "dropped" count what it
/// sent, "delivered" what it received. Bytes are counted as on the wire: body plus datagram or frame header.
/// </summary>
/// <param name="DatagramsSent">Datagrams accepted by <see cref="ITransport.SendDatagram"/>.</param>
/// <param name="DatagramsDelivered">Datagrams handed to a handler (duplicates included).</param>
/// <param name="DatagramsDropped">Datagrams lost: by chance, across a partition, or to an absent or stopped node.</param>
/// <param name="DatagramsDuplicated">Extra copies the policy made.</param>
/// <param name="DatagramBytesSent">Bytes of the datagrams sent.</param>
/// <param name="DatagramBytesDelivered">Bytes of the datagrams delivered.</param>
/// <param name="FramesSent">Frames accepted by <see cref="ITransport.SendFrame"/>.</param>
/// <param name="FramesDelivered">Frames handed to a handler.</param>
/// <param name="FramesDropped">Frames lost with their connection (partition, absent or stopped node) or refused as unreachable.</param>
/// <param name="FrameBytesSent">Bytes of the frames sent.</param>
/// <param name="FrameBytesDelivered">Bytes of the frames delivered.</param>
/// <param name="HandlerErrors">Exceptions thrown by handlers (caught and logged).</param>
internal readonly record struct MemoryTrafficStats(
    long DatagramsSent,
    long DatagramsDelivered,
    long DatagramsDropped,
    long DatagramsDuplicated,
    long DatagramBytesSent,
    long DatagramBytesDelivered,
    long FramesSent,
    long FramesDelivered,
    long FramesDropped,
    long FrameBytesSent,
    long FrameBytesDelivered,
    long HandlerErrors);

/// <summary>The live counters behind <see cref="MemoryTrafficStats"/>; thread-safe.</summary>
internal sealed class MemoryTrafficCounters
{
    private long _datagramsSent;
    private long _datagramsDelivered;
    private long _datagramsDropped;
    private long _datagramsDuplicated;
    private long _datagramBytesSent;
    private long _datagramBytesDelivered;
    private long _framesSent;
    private long _framesDelivered;
    private long _framesDropped;
    private long _frameBytesSent;
    private long _frameBytesDelivered;
    private long _handlerErrors;

    public void DatagramSent(int wireBytes)
    {
        Interlocked.Increment(ref _datagramsSent);
        Interlocked.Add(ref _datagramBytesSent, wireBytes);
    }

    public void DatagramDelivered(int wireBytes)
    {
        Interlocked.Increment(ref _datagramsDelivered);
        Interlocked.Add(ref _datagramBytesDelivered, wireBytes);
    }

    public void DatagramDropped() => Interlocked.Increment(ref _datagramsDropped);

    public void DatagramDuplicated() => Interlocked.Increment(ref _datagramsDuplicated);

    public void FrameSent(int wireBytes)
    {
        Interlocked.Increment(ref _framesSent);
        Interlocked.Add(ref _frameBytesSent, wireBytes);
    }

    public void FrameDelivered(int wireBytes)
    {
        Interlocked.Increment(ref _framesDelivered);
        Interlocked.Add(ref _frameBytesDelivered, wireBytes);
    }

    public void FrameDropped() => Interlocked.Increment(ref _framesDropped);

    public void HandlerError() => Interlocked.Increment(ref _handlerErrors);

    public MemoryTrafficStats Snapshot() => new(
        Volatile.Read(ref _datagramsSent),
        Volatile.Read(ref _datagramsDelivered),
        Volatile.Read(ref _datagramsDropped),
        Volatile.Read(ref _datagramsDuplicated),
        Volatile.Read(ref _datagramBytesSent),
        Volatile.Read(ref _datagramBytesDelivered),
        Volatile.Read(ref _framesSent),
        Volatile.Read(ref _framesDelivered),
        Volatile.Read(ref _framesDropped),
        Volatile.Read(ref _frameBytesSent),
        Volatile.Read(ref _frameBytesDelivered),
        Volatile.Read(ref _handlerErrors));
}
