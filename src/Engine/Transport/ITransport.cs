using System.Buffers;

namespace Engine.Transport;

/// <summary>
/// What the protocol layers see of the network: small unreliable datagrams and reliable, ordered, length-framed
/// streams, both addressed by <see cref="PeerEndpoint"/>. Sends never block: they queue or fail with a status.
/// Implementations: real UDP + TCP sockets, and an in-memory network for tests and simulation.
/// </summary>
public interface ITransport : IAsyncDisposable
{
    /// <summary>The endpoint other peers use to reach this transport (valid after <see cref="StartAsync"/>).</summary>
    PeerEndpoint LocalEndpoint { get; }

    /// <summary>The largest datagram body <see cref="SendDatagram"/> accepts.</summary>
    int MaxDatagramPayload { get; }

    /// <summary>The largest frame body <see cref="SendFrame"/> accepts.</summary>
    int MaxFramePayload { get; }

    /// <summary>Binds and starts receiving; everything received goes to <paramref name="handler"/>.</summary>
    ValueTask StartAsync(ITransportHandler handler, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sends one datagram (best effort: it may be lost, duplicated or reordered). The body is copied before the call returns.
    /// </summary>
    SendStatus SendDatagram(PeerEndpoint destination, ReadOnlySpan<byte> payload);

    /// <summary>
    /// Queues one frame on the stream to <paramref name="destination"/>, connecting first if needed. Frames to one peer
    /// arrive in order, or the connection closes. The body is copied before the call returns.
    /// </summary>
    SendStatus SendFrame(PeerEndpoint destination, ReadOnlySpan<byte> payload);
}

/// <summary>
/// Receives what a transport delivers. Called on transport threads (concurrently for different peers): implementations
/// must not block, and must copy any bytes they keep, since buffers are reused after the call returns.
/// </summary>
public interface ITransportHandler
{
    /// <summary>A datagram body arrived from <paramref name="source"/>.</summary>
    void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload);

    /// <summary>A frame body arrived on the stream from <paramref name="source"/> (the peer's listening endpoint).</summary>
    void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload);

    /// <summary>The stream to <paramref name="peer"/> could not be opened or was lost; queued frames were dropped.</summary>
    void OnConnectionLost(PeerEndpoint peer, string reason);
}

/// <summary>The outcome of a send.</summary>
public enum SendStatus
{
    /// <summary>Handed to the network (datagram) or queued on the connection (frame).</summary>
    Sent = 0,

    /// <summary>The body is larger than the configured maximum; nothing was sent.</summary>
    TooLarge,

    /// <summary>The connection's send queue is full; the frame was dropped and counted.</summary>
    QueueFull,

    /// <summary>The peer cannot be reached right now (connection failed and is backing off, or the socket refused).</summary>
    Unreachable,

    /// <summary>The transport is not started or has been disposed.</summary>
    Closed,
}
