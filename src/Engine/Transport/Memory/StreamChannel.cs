namespace Engine.Transport.Memory;

/// <summary>
/// The in-memory stand-in for one TCP connection, sender to receiver. Frames wait in a FIFO; each scheduled delivery event
/// takes the head, so frames arrive in order whatever their delays. A break (partition, receiver gone) bumps
/// <see cref="Epoch"/>: frames of an older epoch were lost with the connection and are dropped when their turn comes.
/// Fields other than <see cref="DeliveryLock"/> are guarded by the network's lock.
/// </summary>
internal sealed class StreamChannel(MemoryTransport from, PeerEndpoint to)
{
    public MemoryTransport From { get; } = from;

    public PeerEndpoint To { get; } = to;

    public Queue<PendingFrame> Frames { get; } = new();

    /// <summary>Held while a frame is handed over, so frames of one stream never overtake each other on real timers.</summary>
    public Lock DeliveryLock { get; } = new();

    public long Epoch { get; set; }

    /// <summary>True after the connection failed; sends report Unreachable until the peer can be reached again.</summary>
    public bool Broken { get; set; }

    /// <summary>True while a failed connect has not yet been reported; the stream cannot reconnect before that.</summary>
    public bool FailurePending { get; set; }

    /// <summary>Due time of the last frame scheduled; later frames are never due earlier.</summary>
    public long LastDueTicks { get; set; }
}

/// <summary>A frame body in a pooled buffer, waiting for its delivery time.</summary>
internal readonly record struct PendingFrame(byte[] Buffer, int Length, long Epoch);
