using Engine.Node;

namespace Engine.Gossip.Pull;

/// <summary>Settings of a <see cref="PullEngine"/> (Fabric's names and defaults, from <see cref="GossipOptions"/>), and its bounds.</summary>
internal sealed class PullOptions
{
    /// <summary>Period of rounds (pullInterval, default 4 s).</summary>
    public TimeSpan PullInterval { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>Peers sent a Hello per round (pullPeerNum, default 3).</summary>
    public int PeerNum { get; set; } = 3;

    /// <summary>How long the initiator collects digests (digestWaitTime, default 1 s).</summary>
    public TimeSpan DigestWaitTime { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a responder honours a Hello's nonce (requestWaitTime, default 1.5 s).</summary>
    public TimeSpan RequestWaitTime { get; set; } = TimeSpan.FromMilliseconds(1500);

    /// <summary>How long after its requests the initiator accepts updates (responseWaitTime, default 2 s).</summary>
    public TimeSpan ResponseWaitTime { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Digests in one Digest message at most, and missing items tracked per round (default 10,000).</summary>
    public int MaxDigests { get; set; } = 10_000;

    /// <summary>Items asked of one holder per round, and answered per Request (default 1,000).</summary>
    public int MaxItemsPerRequest { get; set; } = 1_000;

    /// <summary>Bytes of items per Update message; a larger answer is split (default 1 MiB; one item always fits).</summary>
    public int MaxUpdateBytes { get; set; } = 1024 * 1024;

    /// <summary>Hello nonces a responder remembers at once; more Hellos are dropped and counted (default 1,024).</summary>
    public int MaxRememberedHellos { get; set; } = 1024;

    public static PullOptions From(GossipOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new PullOptions
        {
            PullInterval = options.PullInterval,
            PeerNum = options.PullPeerNum,
            DigestWaitTime = options.DigestWaitTime,
            RequestWaitTime = options.RequestWaitTime,
            ResponseWaitTime = options.ResponseWaitTime,
        };
    }

    public void Validate()
    {
        Positive(PullInterval, nameof(PullInterval));
        Positive(DigestWaitTime, nameof(DigestWaitTime));
        Positive(RequestWaitTime, nameof(RequestWaitTime));
        Positive(ResponseWaitTime, nameof(ResponseWaitTime));
        Positive(PeerNum, nameof(PeerNum));
        Positive(MaxDigests, nameof(MaxDigests));
        Positive(MaxItemsPerRequest, nameof(MaxItemsPerRequest));
        Positive(MaxUpdateBytes, nameof(MaxUpdateBytes));
        Positive(MaxRememberedHellos, nameof(MaxRememberedHellos));
    }

    private static void Positive(int value, string name)
    {
        if (value <= 0)
        {
            throw new ArgumentException($"Pull option {name} must be positive, was {value}.", name);
        }
    }

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentException($"Pull option {name} must be positive, was {value}.", name);
        }
    }
}
