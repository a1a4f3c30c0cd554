namespace Engine.Peer.Hosting;

/// <summary>
/// What the peer process needs from the node it hosts: start, stop, and a snapshot of what it knows. The real one is
/// <see cref="GossipNodeRuntime"/>; the seam keeps the process (config, logging, signals, admin port) testable apart
/// from the protocol.
/// </summary>
internal interface IPeerRuntime : IAsyncDisposable
{
    /// <summary>Binds the transport and starts the node; throws when it cannot (port taken, bad options).</summary>
    ValueTask StartAsync(CancellationToken cancellationToken);

    /// <summary>Stops the node and closes its connections; idempotent.</summary>
    ValueTask StopAsync();

    /// <summary>A consistent-enough snapshot for status output (allocates; not a hot path).</summary>
    RuntimeSnapshot GetSnapshot();
}

/// <summary>What a runtime reports about itself.</summary>
internal sealed record RuntimeSnapshot(
    string Org,
    string Endpoint,
    string PkiId,
    bool Running,
    IReadOnlyList<MemberStatus> Members,
    IReadOnlyList<CounterStatus> Counters,
    IReadOnlyList<ChannelStatus>? Channels = null);
