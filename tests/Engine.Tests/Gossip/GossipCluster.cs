using System.Buffers;
using System.Collections.Concurrent;
using Engine.Gossip;
using Engine.Gossip.Pull;
using Engine.Membership;
using Engine.Protocol;
using Engine.Transport;
using Engine.Transport.Memory;
using PeerTime = Engine.Membership.PeerTime;

namespace Engine.Tests.Gossip;

/// <summary>
/// A test fixture: N peers, each the dissemination components (store, emitter, disseminator, block pull engine) over a
/// <see cref="MemoryTransport"/> on one virtual-time <see cref="MemoryNetwork"/>, with a membership table pre-filled
/// with the other peers (standing in for discovery). Frames go to the pull engine first, then to the disseminator;
/// datagrams are EnvelopeBatch bodies for the disseminator.
/// </summary>
internal sealed class GossipCluster
{
    public static readonly byte[] ChannelBytes = "ch1"u8.ToArray();

    private readonly int _seed;

    public GossipCluster(bool push = true, bool pull = true, NetworkPolicy? policy = null, int seed = 1, Action<PushOptions>? configurePush = null, Action<PullOptions>? configurePull = null)
    {
        _seed = seed;
        Push = push;
        Pull = pull;
        Network = new MemoryNetwork(policy ?? NetworkPolicy.Perfect(seed), Time);
        PushOptions = new PushOptions();
        configurePush?.Invoke(PushOptions);
        PullOptions = new PullOptions
        {
            PullInterval = TimeSpan.FromSeconds(1),
            DigestWaitTime = TimeSpan.FromMilliseconds(100),
            RequestWaitTime = TimeSpan.FromMilliseconds(300),
            ResponseWaitTime = TimeSpan.FromMilliseconds(200),
        };
        configurePull?.Invoke(PullOptions);
    }

    public VirtualTimeProvider Time { get; } = new();

    public MemoryNetwork Network { get; }

    public bool Push { get; }

    public bool Pull { get; }

    public PushOptions PushOptions { get; }

    public PullOptions PullOptions { get; }

    public List<GossipPeer> Peers { get; } = [];

    public GossipPeer AddPeer(bool start = true)
    {
        var peer = new GossipPeer(this, Peers.Count, _seed * 1000 + Peers.Count);
        foreach (var other in Peers)
        {
            other.Learn(peer);
            peer.Learn(other);
        }

        Peers.Add(peer);
        if (start)
        {
            peer.Start();
        }

        return peer;
    }

    public void AddPeers(int count)
    {
        for (int i = 0; i < count; i++)
        {
            AddPeer();
        }
    }

    public void Run(TimeSpan duration) => Time.Advance(duration);

    /// <summary>Advances time in steps until every peer holds every block, or the limit passes; returns the time it took.</summary>
    public TimeSpan RunUntilComplete(int blocks, TimeSpan limit, TimeSpan step)
    {
        var start = Time.GetUtcNow();
        while (Time.GetUtcNow() - start < limit)
        {
            if (Peers.All(p => p.DeliveredCount == blocks))
            {
                break;
            }

            Time.Advance(step);
        }

        return Time.GetUtcNow() - start;
    }

    public static byte[] Key(int index) => GossipMessages.Key(index);
}

internal sealed class GossipPeer : ITransportHandler
{
    private readonly GossipCluster _cluster;

    public GossipPeer(GossipCluster cluster, int index, int seed)
    {
        _cluster = cluster;
        Index = index;
        Transport = cluster.Network.CreateTransport();
        Members = new MembershipTable(new MembershipOptions { InitialCapacity = 64 }, cluster.Time, new Random(seed));
        Store = new MessageStore(new MessageStoreOptions { MaxEntries = 10_000, MaxBytes = 16 << 20, TimeToLive = TimeSpan.FromMinutes(30) }, cluster.Time, new Random(seed));
        Emitter = cluster.Push ? new PushEmitter(cluster.PushOptions, Transport, Members, cluster.Time) : null;
        Disseminator = new Disseminator(Store, Emitter, Transport.LocalEndpoint, cluster.Time, delivered: OnDelivered);
        if (cluster.Pull)
        {
            var source = new StorePullSource(Disseminator, MessageKind.Block, PullMsgType.BlockMsg, GossipCluster.ChannelBytes, GossipMessage.Types.Tag.ChanAndOrg);
            PullEngine = new PullEngine(cluster.PullOptions, source, Transport, Members, default(GossipRoute), cluster.Time, new Random(seed));
        }
    }

    public int Index { get; }

    public MemoryTransport Transport { get; }

    public PeerEndpoint Endpoint => Transport.LocalEndpoint;

    public MembershipTable Members { get; }

    public MessageStore Store { get; }

    public PushEmitter? Emitter { get; }

    public Disseminator Disseminator { get; }

    public PullEngine? PullEngine { get; }

    /// <summary>Times each block was delivered (must end at exactly 1 each).</summary>
    public ConcurrentDictionary<ulong, int> Delivered { get; } = new();

    /// <summary>(source, block) of every copy received by push.</summary>
    public ConcurrentQueue<(PeerEndpoint Source, ulong Block)> Copies { get; } = new();

    public int DeliveredCount => Delivered.Count;

    public void Learn(GossipPeer other) =>
        Members.Update(GossipCluster.Key(other.Index), new MemberAnnouncement(new PeerTime(1, 1), MemberState.Alive, other.Endpoint, org: "Org1MSP"), _cluster.Time.GetTimestamp(), out _);

    public void Start()
    {
        Transport.StartAsync(this).AsTask().GetAwaiter().GetResult();
        Emitter?.Start();
        PullEngine?.Start();
    }

    public ReceiveOutcome Publish(ulong block, int dataBytes = 32) => Disseminator.Publish(GossipMessages.Block(block, dataBytes));

    public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload)
    {
        var reader = new EnvelopeBatch.Reader(payload);
        while (reader.TryRead(out var envelope))
        {
            Receive(source, envelope);
        }
    }

    public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload)
    {
        var envelope = payload.ToArray();
        if (PullEngine is not null && PullEngine.TryHandle(source, envelope))
        {
            return;
        }

        Receive(source, envelope);
    }

    public void OnConnectionLost(PeerEndpoint peer, string reason)
    {
    }

    private void Receive(PeerEndpoint source, ReadOnlySpan<byte> envelope)
    {
        if (MessageIdentity.TryRead(envelope, out var id) == IdentityError.None && id.Kind == MessageKind.Block)
        {
            Copies.Enqueue((source, id.Sequence));
        }

        Disseminator.Receive(source, envelope);
    }

    private void OnDelivered(in MessageId id, ReadOnlySpan<byte> envelope, PeerEndpoint source)
    {
        if (id.Kind == MessageKind.Block)
        {
            Delivered.AddOrUpdate(id.Sequence, 1, (_, n) => n + 1);
        }
    }
}
