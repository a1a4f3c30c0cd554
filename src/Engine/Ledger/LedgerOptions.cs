namespace Engine.Ledger;

/// <summary>
/// Bounds of a channel's block store, with Fabric's names and defaults where Fabric has them
/// (<c>peer.gossip.state.blockBufferSize</c>, <c>peer.gossip.maxBlockCountToStore</c>).
/// </summary>
public sealed class LedgerOptions
{
    /// <summary>
    /// Blocks that arrive early (ahead of the next one to commit) are held until their turn, if their number is below
    /// height + this (default 20); a block further ahead is refused and counted.
    /// </summary>
    public int BlockBufferSize { get; set; } = 20;

    /// <summary>The most recent committed blocks kept in memory to serve pull (default 10).</summary>
    public int MaxBlockCountToStore { get; set; } = 10;

    /// <summary>The largest block envelope accepted, in bytes (default 16 MiB, the transport's largest frame).</summary>
    public int MaxBlockBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>The most memory blocks can hold in one store: (buffer + window) × largest block.</summary>
    public long MaxMemoryBytes => (long)(BlockBufferSize + MaxBlockCountToStore) * MaxBlockBytes;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value.</summary>
    public void Validate()
    {
        Range(BlockBufferSize, 1, 100_000, nameof(BlockBufferSize));
        Range(MaxBlockCountToStore, 1, 100_000, nameof(MaxBlockCountToStore));
        Range(MaxBlockBytes, 64, 1 << 30, nameof(MaxBlockBytes));
    }

    private static void Range(int value, int min, int max, string name)
    {
        if (value < min || value > max)
        {
            throw new ArgumentException($"Ledger option {name} must be between {min} and {max}, was {value}.", name);
        }
    }
}
