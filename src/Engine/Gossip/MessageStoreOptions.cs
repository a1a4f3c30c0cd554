namespace Engine.Gossip;

/// <summary>Bounds of a <see cref="MessageStore"/>: it never holds more than these, however long the network runs.</summary>
internal sealed class MessageStoreOptions
{
    /// <summary>Most messages held (default 100,000); the oldest is evicted to make room.</summary>
    public int MaxEntries { get; set; } = 100_000;

    /// <summary>Most bytes held, envelopes, digests and a fixed per-entry overhead counted (default 64 MiB).</summary>
    public long MaxBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// How long a message is held after it was stored (default 500 s: Fabric's alive-message TTL,
    /// aliveExpirationTimeout × msgExpirationFactor).
    /// </summary>
    public TimeSpan TimeToLive { get; set; } = TimeSpan.FromSeconds(500);

    /// <summary>Lock stripes; 0 picks one per 2,048 entries, between 1 and 64.</summary>
    public int Shards { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value.</summary>
    public void Validate()
    {
        if (MaxEntries <= 0)
        {
            throw new ArgumentException($"Message store option {nameof(MaxEntries)} must be positive, was {MaxEntries}.", nameof(MaxEntries));
        }

        if (MaxBytes < 4096)
        {
            throw new ArgumentException($"Message store option {nameof(MaxBytes)} must be at least 4096, was {MaxBytes}.", nameof(MaxBytes));
        }

        if (TimeToLive <= TimeSpan.Zero)
        {
            throw new ArgumentException($"Message store option {nameof(TimeToLive)} must be positive, was {TimeToLive}.", nameof(TimeToLive));
        }

        if (Shards < 0 || Shards > 1024 || (Shards & (Shards - 1)) != 0)
        {
            throw new ArgumentException($"Message store option {nameof(Shards)} must be 0 or a power of two up to 1024, was {Shards}.", nameof(Shards));
        }
    }

    internal int ResolveShards()
    {
        if (Shards > 0)
        {
            return Math.Min(Shards, MaxEntries);
        }

        int shards = 1;
        while (shards < 64 && shards * 2 * 2048 <= MaxEntries)
        {
            shards *= 2;
        }

        return shards;
    }
}
