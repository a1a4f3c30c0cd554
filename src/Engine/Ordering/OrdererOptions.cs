namespace Engine.Ordering;

/// <summary>Bounds and timings of the <see cref="Orderer"/>.</summary>
internal sealed class OrdererOptions
{
    /// <summary>Blocks kept per channel to serve streams that start behind (default 1,000); older ones are forgotten.</summary>
    public int MaxRetainedBlocks { get; set; } = 1_000;

    /// <summary>Delivery streams open at once, all channels together (default 1,024); more are refused.</summary>
    public int MaxStreams { get; set; } = 1_024;

    /// <summary>How soon a stream whose send failed (queue full, peer unreachable) is tried again (default 100 ms).</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    public void Validate()
    {
        if (MaxRetainedBlocks < 1)
        {
            throw new ArgumentException($"Orderer option {nameof(MaxRetainedBlocks)} must be positive, was {MaxRetainedBlocks}.", nameof(MaxRetainedBlocks));
        }

        if (MaxStreams < 1)
        {
            throw new ArgumentException($"Orderer option {nameof(MaxStreams)} must be positive, was {MaxStreams}.", nameof(MaxStreams));
        }

        if (RetryInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException($"Orderer option {nameof(RetryInterval)} must be positive, was {RetryInterval}.", nameof(RetryInterval));
        }
    }
}
