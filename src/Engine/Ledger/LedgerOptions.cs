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

    /// <summary>
    /// Committed blocks kept in memory to serve state transfer (the ledger's archive, Engine's stand-in for Fabric's block
    /// database), counting the window: the archive holds the last max(this, <see cref="MaxBlockCountToStore"/>) blocks, fewer
    /// when <see cref="ArchiveBytes"/> is reached first (default 1,000; 0 keeps the window only).
    /// </summary>
    public int ArchiveBlockCount { get; set; } = 1000;

    /// <summary>
    /// The most block bytes (envelope lengths) the archive holds (default 256 MiB): the oldest blocks are dropped first;
    /// the last <see cref="MaxBlockCountToStore"/> blocks (the window) are always kept, even when they alone hold more.
    /// </summary>
    public long ArchiveBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// Bytes of block memory a channel's store maps and touches when it is created (default 0: none), so the first blocks
    /// stored do not pay the kernel's first-touch page faults while the stream runs (Aeron's pre-touch). Worth it where
    /// commit latency matters from the first block: size it to the archive (blocks × their size), at most
    /// <see cref="ArchiveBytes"/> plus the reorder buffer. The memory is the archive's own; nothing more is kept.
    /// </summary>
    public long PretouchBytes { get; set; }

    /// <summary>
    /// The most block bytes one store can hold: the reorder buffer (<see cref="BlockBufferSize"/> × largest block) plus the
    /// archive (at most <see cref="ArchiveBytes"/>, or the window of <see cref="MaxBlockCountToStore"/> largest blocks when
    /// that is more).
    /// </summary>
    public long MaxMemoryBytes => ((long)BlockBufferSize * MaxBlockBytes) + Math.Max(ArchiveBytes, (long)MaxBlockCountToStore * MaxBlockBytes);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value.</summary>
    public void Validate()
    {
        Range(BlockBufferSize, 1, 100_000, nameof(BlockBufferSize));
        Range(MaxBlockCountToStore, 1, 100_000, nameof(MaxBlockCountToStore));
        Range(MaxBlockBytes, 64, 1 << 30, nameof(MaxBlockBytes));
        Range(ArchiveBlockCount, 0, 10_000_000, nameof(ArchiveBlockCount));
        if (ArchiveBytes is < 0 or > 1L << 40)
        {
            throw new ArgumentException($"Ledger option {nameof(ArchiveBytes)} must be between 0 and {1L << 40}, was {ArchiveBytes}.", nameof(ArchiveBytes));
        }

        if (PretouchBytes < 0 || PretouchBytes > MaxMemoryBytes)
        {
            throw new ArgumentException($"Ledger option {nameof(PretouchBytes)} must be between 0 and the most a store can hold ({MaxMemoryBytes} bytes: reorder buffer plus archive), was {PretouchBytes}.", nameof(PretouchBytes));
        }
    }

    private static void Range(int value, int min, int max, string name)
    {
        if (value < min || value > max)
        {
            throw new ArgumentException($"Ledger option {name} must be between {min} and {max}, was {value}.", name);
        }
    }
}
