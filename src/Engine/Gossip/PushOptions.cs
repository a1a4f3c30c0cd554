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

    /// <summary>
    /// Engine only: a message added when nothing has been flushed for <see cref="BurstLatency"/> is flushed at once
    /// instead of waiting for the tick (latency when idle, batching under load: at most one such flush per burst
    /// latency). False is Fabric's emitter.
    /// </summary>
    public bool FlushWhenIdle { get; set; }

    /// <summary>Bytes of envelopes waiting at most; a message that would exceed it is dropped and counted (default 4 MiB).</summary>
    public int MaxPendingBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>The most peers one message goes to in one round, whatever its route asks (default 256).</summary>
    public int MaxFanout { get; set; } = 256;

    /// <summary>
    /// Lazy push (Engine only): in its first round, each message's digest is also announced to this many more peers of
    /// its route, who ask for it if push has not brought it within their grace period (0: off, Fabric's behaviour).
    /// </summary>
    public int LazyPeerNum { get; set; }

    /// <summary>The message kinds lazy push announces (application data by default).</summary>
    public LazyKinds LazyKinds { get; set; } = LazyKinds.AppData;

    /// <summary>
    /// Engine only: a message of <see cref="LazyKinds"/> too large for a datagram is announced by digest to the peers
    /// push picks, in its first round, instead of sent whole to each; the receivers ask for it (false: Fabric's
    /// behaviour, the whole message to each).
    /// </summary>
    public bool AnnounceOversize { get; set; }

    /// <summary>With <see cref="AnnounceOversize"/>: how many more peers than <see cref="PeerNum"/> an oversize message is announced to.</summary>
    public int OversizeExtraPeers { get; set; }

    public static PushOptions From(GossipOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new PushOptions
        {
            PeerNum = options.PropagatePeerNum,
            Iterations = options.PropagateIterations,
            BurstSize = options.MaxPropagationBurstSize,
            BurstLatency = options.MaxPropagationBurstLatency,
            LazyPeerNum = options.LazyPushPeerNum,
            FlushWhenIdle = options.PushFlushWhenIdle,
        };
    }

    public void Validate()
    {
        Positive(PeerNum, nameof(PeerNum));
        Positive(Iterations, nameof(Iterations));
        Positive(BurstSize, nameof(BurstSize));
        Positive(MaxPendingBytes, nameof(MaxPendingBytes));
        Positive(MaxFanout, nameof(MaxFanout));
        if (OversizeExtraPeers < 0 || OversizeExtraPeers > MaxFanout)
        {
            throw new ArgumentException($"Push option {nameof(OversizeExtraPeers)} must be between 0 and {MaxFanout}, was {OversizeExtraPeers}.", nameof(OversizeExtraPeers));
        }

        if (LazyPeerNum < 0 || LazyPeerNum > MaxFanout)
        {
            throw new ArgumentException($"Push option {nameof(LazyPeerNum)} must be between 0 and {MaxFanout}, was {LazyPeerNum}.", nameof(LazyPeerNum));
        }
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

/// <summary>Message kinds lazy push may announce and serve (a peer serves a Want only for these kinds).</summary>
[Flags]
internal enum LazyKinds
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>State info messages.</summary>
    StateInfo = 1 << MessageKind.StateInfo,

    /// <summary>Leadership messages.</summary>
    Leadership = 1 << MessageKind.Leadership,

    /// <summary>Blocks.</summary>
    Block = 1 << MessageKind.Block,

    /// <summary>Application data.</summary>
    AppData = 1 << MessageKind.AppData,
}

/// <summary>Helpers of <see cref="LazyKinds"/>.</summary>
internal static class LazyKindsExtensions
{
    public static bool Includes(this LazyKinds kinds, MessageKind kind) => ((int)kinds & (1 << (int)kind)) != 0;
}
