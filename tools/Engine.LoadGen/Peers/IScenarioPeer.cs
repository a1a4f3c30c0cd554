using Engine.Node;
using Engine.Transport;

namespace Engine.LoadGen.Peers;

/// <summary>
/// One peer as a scenario drives it, wherever it runs: a <see cref="GossipNode"/> in this process, or an Engine.Peer OS
/// process watched through its admin port. Counts are what the peer itself sees.
/// </summary>
internal interface IScenarioPeer
{
    /// <summary>The endpoint other peers reach it at.</summary>
    PeerEndpoint Endpoint { get; }

    /// <summary>How many other peers it sees alive.</summary>
    int AliveCount { get; }

    /// <summary>How many other peers it holds as suspected (Swim mode; still members).</summary>
    int SuspectCount { get; }

    /// <summary>How many peers it holds as dead.</summary>
    int DeadCount { get; }

    /// <summary>Datagrams and bytes it has sent since it started.</summary>
    (long Datagrams, long Bytes) Sent { get; }

    /// <summary>
    /// Membership requests it answered, how many of them by the view digest alone, entries it sent in answers and entries
    /// it learned from answers (null: not known here — a peer of another process, or a stopped peer, whose counts the
    /// scenario kept when it stopped).
    /// </summary>
    (long Answered, long Agreed, long EntriesSent, long EntriesLearned)? SyncAnswers { get; }

    /// <summary>The OS process id, for a peer that runs as its own process.</summary>
    int? ProcessId { get; }

    /// <summary>Stops it abruptly, as a crash would (a process is killed).</summary>
    ValueTask CrashAsync();

    /// <summary>Stops it cleanly, if it is still running.</summary>
    ValueTask StopAsync();
}

/// <summary>A node in this process.</summary>
internal sealed class NodePeer(GossipNode node) : IScenarioPeer
{
    public PeerEndpoint Endpoint => node.Endpoint;

    public int AliveCount => node.AliveCount;

    public int SuspectCount => node.SuspectCount;

    public int DeadCount => node.DeadCount;

    public (long Datagrams, long Bytes) Sent
    {
        get
        {
            var s = node.GetStatistics();
            return (s.DatagramsSent, s.BytesSent);
        }
    }

    public (long Answered, long Agreed, long EntriesSent, long EntriesLearned)? SyncAnswers =>
        node.Discovery is { Counters: var c } ? (c.MembershipRequestsReceived, c.ViewsAgreed, c.EntriesSent, c.EntriesLearned) : null;

    public int? ProcessId => null;

    public ValueTask CrashAsync() => node.StopAsync();

    public ValueTask StopAsync() => node.StopAsync();
}

/// <summary>
/// A peer stopped until it restarts: its endpoint and what it sent, and nothing else, so the stopped node (its membership
/// table above all: 10,000 members at N = 10,000) is garbage while the others detect its death.
/// </summary>
internal sealed class StoppedPeer(IScenarioPeer stopped) : IScenarioPeer
{

    public PeerEndpoint Endpoint { get; } = stopped.Endpoint;

    public int AliveCount => 0;

    public int SuspectCount => 0;

    public int DeadCount => 0;

    public (long Datagrams, long Bytes) Sent { get; } = stopped.Sent;

    public (long Answered, long Agreed, long EntriesSent, long EntriesLearned)? SyncAnswers => null;

    public int? ProcessId => null;

    public ValueTask CrashAsync() => ValueTask.CompletedTask;

    public ValueTask StopAsync() => ValueTask.CompletedTask;
}
