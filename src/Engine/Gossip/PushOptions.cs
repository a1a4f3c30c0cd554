using Engine.Node;

namespace Engine.Gossip;

/// <summary>Settings of the <see cref="PushEmitter"/> (Fabric's names and defaults, from <see cref="GossipOptions"/>).</summary>
internal sealed class PushOptions
{
    /// <summary>Peers each message goes to per round (propagatePeerNum, default 3).</summary>
    public int PeerNum { get; set; } = 3;

    /// <summary>Rounds each message is pushed (propagateIterations, default 1).</summary>
    public int Iterations { get; set; } = 1;

    /// <summary>Flush as soon as this many messages wait (maxPropagationBurstSize, default 10).</summary>
    public int BurstSize { get; set; } = 10;

    /// <summary>Flush at least this often (maxPropagationBurstLatency, default 10 ms).</summary>
    public TimeSpan BurstLatency { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Bytes of envelopes waiting at most; a message that would exceed it is dropped and counted (default 4 MiB).</summary>
    public int MaxPendingBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>The most peers one message goes to in one round, whatever its route asks (default 256).</summary>
    public int MaxFanout { get; set; } = 256;

    public static PushOptions From(GossipOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new PushOptions
        {
            PeerNum = options.PropagatePeerNum,
            Iterations = options.PropagateIterations,
            BurstSize = options.MaxPropagationBurstSize,
            BurstLatency = options.MaxPropagationBurstLatency,
        };
    }

    public void Validate()
    {
        Positive(PeerNum, nameof(PeerNum));
        Positive(Iterations, nameof(Iterations));
        Positive(BurstSize, nameof(BurstSize));
        Positive(MaxPendingBytes, nameof(MaxPendingBytes));
        Positive(MaxFanout, nameof(MaxFanout));
        if (BurstLatency <= TimeSpan.Zero)
        {
            throw new ArgumentException($"Push option {nameof(BurstLatency)} must be positive, was {BurstLatency}.", nameof(BurstLatency));
        }
    }

    private static void Positive(int value, string name)
    {
        if (value <= 0)
        {
            throw new ArgumentException($"Push option {name} must be positive, was {value}.", name);
        }
    }
}
