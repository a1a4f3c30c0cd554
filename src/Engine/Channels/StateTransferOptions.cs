namespace Engine.Channels;

/// <summary>
/// State transfer in each channel the node joins (Fabric's <c>peer.gossip.state.*</c>, with Fabric's defaults): the
/// anti-entropy loop that brings a peer that is behind its channel's peers (joined late, restarted with an empty ledger,
/// or fell behind) up to their height, served from the peers' archives (<c>LedgerOptions.ArchiveBlockCount</c>).
/// </summary>
public sealed class StateTransferOptions
{
    /// <summary>
    /// Runs the anti-entropy loop (Fabric's <c>state.enabled</c>; default true — Engine's followers have no stream to
    /// the orderer, so this is how they catch up). Off, a peer still answers state requests and still asks for the gaps
    /// it sees below a block that arrives.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the ledger height is compared with the peers' (Fabric's <c>state.checkInterval</c>, 10 s).</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long to wait for the answer to a state request before asking another peer (Fabric's <c>state.responseTimeout</c>, 3 s).</summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Blocks asked for in one request (Fabric's <c>state.batchSize</c>, 10); a responder refuses a request for more than
    /// this + 1 blocks, as Fabric's does. At most <c>LedgerOptions.BlockBufferSize</c>.
    /// </summary>
    public int BatchSize { get; set; } = 10;

    /// <summary>Further peers asked for a batch nobody answered before the round gives up until the next check (Fabric's <c>state.maxRetries</c>, 3).</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>
    /// Engine's own: the most block bytes one response carries (default 2 MiB; a single larger block still goes alone).
    /// Keeps a response within a connection's send queue.
    /// </summary>
    public int MaxResponseBytes { get; set; } = 2 * 1024 * 1024;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value.</summary>
    public void Validate()
    {
        Require(CheckInterval > TimeSpan.Zero, nameof(CheckInterval), $"must be positive, was {CheckInterval}");
        Require(ResponseTimeout > TimeSpan.Zero, nameof(ResponseTimeout), $"must be positive, was {ResponseTimeout}");
        Require(BatchSize is >= 1 and <= 10_000, nameof(BatchSize), $"must be between 1 and 10000, was {BatchSize}");
        Require(MaxRetries is >= 0 and <= 1000, nameof(MaxRetries), $"must be between 0 and 1000, was {MaxRetries}");
        Require(MaxResponseBytes is >= 1024 and <= 1 << 30, nameof(MaxResponseBytes), $"must be between 1024 and {1 << 30}, was {MaxResponseBytes}");
    }

    private static void Require(bool condition, string name, string message)
    {
        if (!condition)
        {
            throw new ArgumentException($"State transfer option {name} {message}.", name);
        }
    }
}
