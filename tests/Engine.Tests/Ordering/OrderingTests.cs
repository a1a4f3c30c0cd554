using System.Buffers;
using System.Buffers.Binary;
using Engine.Ledger;
using Engine.Ordering;
using Engine.Protocol;
using Engine.Tests.Discovery;
using Engine.Transport;
using Engine.Transport.Memory;
using Google.Protobuf;

namespace Engine.Tests.Ordering;

/// <summary>The orderer and delivery clients on a virtual-time in-memory network: 2 orgs x 2 peers, channel mychannel.</summary>
[TestFixture]
public sealed class OrderingTests : IDisposable
{
    private const string Channel = "mychannel";
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(200);

    private CapturingLoggerFactory _loggers = new();
    private VirtualTimeProvider _time = null!;
    private MemoryNetwork _network = null!;
    private Orderer _orderer = null!;
    private List<(string Channel, ulong Block, PeerEndpoint Peer)> _deliveries = null!;
    private List<Peer> _peers = null!;

    public void Dispose() => _loggers.Dispose();

    [SetUp]
    public void SetUp()
    {
        _loggers.Dispose();
        _loggers = new CapturingLoggerFactory();
        _time = new VirtualTimeProvider();
        var policy = NetworkPolicy.Perfect(3);
        policy.Delay = TimeSpan.FromMilliseconds(2);
        _network = new MemoryNetwork(policy, _time);
        _deliveries = [];
        _orderer = new Orderer(_network.CreateTransport(), new OrdererOptions { MaxRetainedBlocks = 50 }, _time, _loggers.CreateLogger("Orderer"))
        {
            BlockDelivered = (channel, block, peer) => _deliveries.Add((channel, block, peer)),
        };
        _orderer.StartAsync().AsTask().GetAwaiter().GetResult();
        byte[] genesis = _orderer.CreateChannel(new ChannelConfiguration(Channel, [new OrgAnchors("Org1", []), new OrgAnchors("Org2", [])]));
        _peers = [];
        foreach (string org in new[] { "Org1", "Org2" })
        {
            for (int i = 0; i < 2; i++)
            {
                _peers.Add(new Peer(this, $"peer{i}.{org.ToLowerInvariant()}", org, genesis));
            }
        }
    }

    [TearDown]
    public void TearDown()
    {
        foreach (var peer in _peers)
        {
            peer.Dispose();
        }

        _orderer.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private void Run(TimeSpan duration) => _time.Advance(duration);

    private Peer P(int org, int index) => _peers[((org - 1) * 2) + index];

    [Test]
    public void EachBlock_GoesOnlyToTheOpenStreams_OnePerOrg()
    {
        P(1, 0).Client.Open();
        P(2, 0).Client.Open();
        Run(Settle);
        Assert.That(_orderer.Streams(Channel), Is.EquivalentTo(new[] { P(1, 0).Endpoint, P(2, 0).Endpoint }));

        for (int i = 1; i <= 5; i++)
        {
            Assert.That(_orderer.CutBlock(Channel, [(byte)i]), Is.EqualTo((ulong)i));
        }

        Run(Settle);
        Assert.That(P(1, 0).Ledger.Height, Is.EqualTo(6UL));
        Assert.That(P(2, 0).Ledger.Height, Is.EqualTo(6UL));
        Assert.That(P(1, 1).Ledger.Height, Is.EqualTo(1UL), "a follower gets nothing from the orderer");
        Assert.That(P(2, 1).Ledger.Height, Is.EqualTo(1UL));
        foreach (var group in _deliveries.GroupBy(d => d.Block))
        {
            Assert.That(group.Select(d => d.Peer), Is.EquivalentTo(new[] { P(1, 0).Endpoint, P(2, 0).Endpoint }), $"block {group.Key}");
        }

        Assert.That(_deliveries, Has.Count.EqualTo(10));
        Assert.That(_orderer.GetStatistics().Deliveries, Is.EqualTo(10));
        Assert.That(P(1, 1).FramesFromOrderer, Is.Zero);
    }

    [Test]
    public void LeadershipMoves_TheOldLeaderCloses_TheNewOneCatchesUpFromItsHeight_AndOnlyItReceives()
    {
        var old = P(1, 0);
        var next = P(1, 1);
        old.Client.Open();
        Run(Settle);
        _orderer.CutBlock(Channel, [1]);
        _orderer.CutBlock(Channel, [2]);
        Run(Settle);
        Assert.That(old.Ledger.Height, Is.EqualTo(3UL));

        old.Client.Close();
        next.Client.Open();
        Run(Settle);
        Assert.That(_orderer.Streams(Channel), Is.EqualTo(new[] { next.Endpoint }));
        Assert.That(next.Ledger.Height, Is.EqualTo(3UL), "the new leader asked from its height (1) and got blocks 1 and 2");

        _deliveries.Clear();
        _orderer.CutBlock(Channel, [3]);
        Run(Settle);
        Assert.That(_deliveries.Select(d => d.Peer), Is.EqualTo(new[] { next.Endpoint }));
        Assert.That(old.Ledger.Height, Is.EqualTo(3UL));
        Assert.That(next.Ledger.Height, Is.EqualTo(4UL));
        Assert.That(_loggers.Messages(6204).Single(), Does.EndWith($"{old.Endpoint} (Org1) closed its delivery stream of mychannel (closed by the peer)"));
        Assert.That(_loggers.Messages(6210).Count(), Is.EqualTo(2));
    }

    [Test]
    public void BlocksInFlightAtTheClose_AreIgnoredByTheClient()
    {
        var leader = P(1, 0);
        leader.Client.Open();
        Run(Settle);
        _orderer.CutBlock(Channel, [1]);
        leader.Client.Close();
        Run(Settle);

        Assert.That(leader.Client.BlocksIgnored, Is.EqualTo(1));
        Assert.That(leader.Ledger.Height, Is.EqualTo(1UL));
    }

    [Test]
    public void AStreamEnds_WhenTheOrdererLosesTheConnection()
    {
        var leader = P(2, 0);
        leader.Client.Open();
        Run(Settle);
        _network.Disconnect(leader.Endpoint);

        _orderer.CutBlock(Channel, [1]);
        Run(Settle);

        Assert.That(_orderer.Streams(Channel), Is.Empty);
        Assert.That(_orderer.GetStatistics().OpenStreams, Is.Zero);
        Assert.That(_loggers.Messages(6204).Single(), Does.Contain("(connection lost:"));
    }

    [Test]
    public void AnchorUpdate_CutsAConfigBlock_ThatTheLeadersCommit()
    {
        P(1, 0).Client.Open();
        P(2, 0).Client.Open();
        Run(Settle);

        var anchor = PeerEndpoint.Parse("127.0.0.1:7051");
        Assert.That(_orderer.UpdateAnchors(Channel, "Org1", [anchor]), Is.EqualTo(1UL));
        Run(Settle);

        Assert.That(P(1, 0).Ledger.Config.AnchorsOf("Org1"), Is.EqualTo(new[] { anchor }));
        Assert.That(P(2, 0).Ledger.Config.AnchorsOf("Org1"), Is.EqualTo(new[] { anchor }));
        Assert.That(P(2, 0).Ledger.Config.AnchorsOf("Org2"), Is.Empty);
        Assert.That(_orderer.Config(Channel).AnchorsOf("Org1"), Is.EqualTo(new[] { anchor }));
        Assert.That(P(1, 0).ConfigCommits, Is.EqualTo(2), "genesis and the update");
    }

    [Test]
    public void CuttingAtARate_CutsOnTime_AndStampsTheCutTime()
    {
        P(1, 0).Client.Open();
        Run(Settle);
        var started = _time.GetUtcNow();
        _orderer.StartCutting(Channel, blocksPerSecond: 10, blockBytes: 1000);
        Run(TimeSpan.FromSeconds(2));
        _orderer.StopCutting(Channel);
        Run(TimeSpan.FromSeconds(1));

        Assert.That(_orderer.Height(Channel), Is.EqualTo(21UL), "genesis + 20 blocks in 2 s at 10/s");
        Assert.That(P(1, 0).Ledger.Height, Is.EqualTo(21UL));
        var writer = new ArrayBufferWriter<byte>();
        Assert.That(P(1, 0).Ledger.TryCopyBlock(20, writer), Is.True);
        Assert.That(BlockCodec.TryRead(writer.WrittenSpan, out var block), Is.Null);
        Assert.That(block.Content.Length, Is.EqualTo(1000));
        Assert.That(new DateTimeOffset(BinaryPrimitives.ReadInt64BigEndian(block.Content), TimeSpan.Zero), Is.EqualTo(started + TimeSpan.FromSeconds(2)));
    }

    [Test]
    public void CuttingACount_CutsExactlyThatMany_ThenStopsByItself_AndANewCutterStartsAfresh()
    {
        P(1, 0).Client.Open();
        Run(Settle);
        _orderer.StartCutting(Channel, blocksPerSecond: 10, blockBytes: 100, count: 7);
        Run(TimeSpan.FromSeconds(3));
        Assert.That(_orderer.Height(Channel), Is.EqualTo(8UL), "genesis + exactly 7 blocks, although 3 s at 10/s would cut 30");

        _orderer.StartCutting(Channel, blocksPerSecond: 10, blockBytes: 100, count: 2);
        Run(TimeSpan.FromSeconds(1));
        Assert.That(_orderer.Height(Channel), Is.EqualTo(10UL), "the second count is its own");
        Assert.That(P(1, 0).Ledger.Height, Is.EqualTo(10UL));
        Assert.That(() => _orderer.StartCutting(Channel, 10, 100, count: 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void AStreamStartingBeforeTheRetainedBlocks_StartsAtTheOldest_AndSaysSo()
    {
        for (int i = 0; i < 60; i++)
        {
            _orderer.CutBlock(Channel, [(byte)i]);
        }

        // 61 blocks cut, 50 retained: 11..60.
        var peer = P(1, 0);
        peer.Client.Open();
        Run(Settle);

        Assert.That(_deliveries.Select(d => d.Block).First(), Is.EqualTo(11UL));
        Assert.That(_deliveries, Has.Count.EqualTo(50));
        Assert.That(peer.Ledger.Height, Is.EqualTo(1UL), "blocks 1..10 are gone at the orderer: 11 onwards are beyond the reorder buffer (pull would fill the gap)");
        Assert.That(_loggers.Messages(6213).Single(), Does.Contain("Ok: blocks before 11 are no longer retained; the stream starts at 11"));
    }

    [Test]
    public void UnknownChannel_IsRefused_AndTheClientRetries()
    {
        var peer = P(1, 0);
        using var stray = new DeliveryClient(peer.Transport, _orderer.Endpoint, "nochannel", "Org1", "stray", () => 0, (_, _) => { }, _time, TimeSpan.FromSeconds(1), _loggers.CreateLogger("Client"));
        peer.Extra = stray;
        stray.Open();
        Run(TimeSpan.FromMilliseconds(1500));

        Assert.That(_loggers.Messages(6205).First(), Does.Contain("refused a delivery stream of nochannel").And.Contain("no channel 'nochannel' at this orderer"));
        Assert.That(_loggers.Messages(6213).First(), Does.Contain("NotFound"));
        Assert.That(_loggers.Messages(6212).First(), Does.Contain("reopening in 00:00:01"));
        Assert.That(_orderer.GetStatistics().Refused, Is.GreaterThanOrEqualTo(2), "asked again after the retry interval");
    }

    [Test]
    public void GarbageFrames_AndDatagrams_AreDroppedCountedAndLogged()
    {
        var peer = P(2, 1);
        peer.Transport.SendFrame(_orderer.Endpoint, [0xFF, 0xFF, 0xFF]);
        peer.Transport.SendFrame(_orderer.Endpoint, new Envelope { Payload = new GossipMessage { Empty = new Empty() }.ToByteString() }.ToByteArray());
        Run(Settle);

        Assert.That(_orderer.GetStatistics().Refused, Is.EqualTo(2));
        Assert.That(_loggers.Messages(6206).First(), Does.Contain($"dropped a frame from {peer.Endpoint}: the frame is not an envelope"));
        Assert.That(_orderer.Streams(Channel), Is.Empty);
    }

    [Test]
    public void ManyBlocks_ArriveComplete_AndInOrder_AtEveryLeader()
    {
        P(1, 0).Client.Open();
        P(2, 0).Client.Open();
        Run(Settle);
        for (int i = 0; i < 500; i++)
        {
            _orderer.CutBlock(Channel, new byte[4096]);
            if (i % 50 == 0)
            {
                Run(TimeSpan.FromMilliseconds(10));
            }
        }

        Run(TimeSpan.FromSeconds(1));
        foreach (var leader in new[] { P(1, 0), P(2, 0) })
        {
            Assert.That(leader.Ledger.Height, Is.EqualTo(501UL));
            Assert.That(leader.Commits, Is.EqualTo(Enumerable.Range(0, 501).Select(i => (ulong)i)));
            Assert.That(leader.Ledger.GetStatistics().Duplicates, Is.Zero);
        }
    }

    private sealed class Peer : ITransportHandler, IDisposable
    {
        public Peer(OrderingTests test, string name, string org, byte[] genesis)
        {
            Transport = test._network.CreateTransport();
            Ledger = BlockStore.Join(genesis, new LedgerOptions(), test._time, test._loggers.CreateLogger($"Ledger.{name}"), name, OnCommitted);
            Client = new DeliveryClient(Transport, test._orderer.Endpoint, Channel, org, name, () => Ledger.Height,
                (envelope, source) => Ledger.Offer(envelope, source), test._time, TimeSpan.FromMilliseconds(500), test._loggers.CreateLogger($"Client.{name}"));
            Transport.StartAsync(this).AsTask().GetAwaiter().GetResult();
        }

        public MemoryTransport Transport { get; }

        public PeerEndpoint Endpoint => Transport.LocalEndpoint;

        public BlockStore Ledger { get; }

        public DeliveryClient Client { get; }

        public DeliveryClient? Extra { get; set; }

        public List<ulong> Commits { get; } = [];

        public int ConfigCommits { get; private set; }

        public int FramesFromOrderer { get; private set; }

        public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload)
        {
        }

        public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload)
        {
            FramesFromOrderer++;
            byte[] body = payload.ToArray();
            if (!Client.TryHandle(source, body) && Extra?.TryHandle(source, body) != true)
            {
                Assert.Fail($"unclaimed frame from {source}");
            }
        }

        public void OnConnectionLost(PeerEndpoint peer, string reason)
        {
            Client.OnConnectionLost(peer, reason);
            Extra?.OnConnectionLost(peer, reason);
        }

        public void Dispose()
        {
            Client.Dispose();
            Ledger.Dispose();
            Transport.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        private void OnCommitted(in CommittedBlock block)
        {
            Commits.Add(block.Number);
            ConfigCommits += block.Config is null ? 0 : 1;
        }
    }
}
