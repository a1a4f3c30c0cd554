using System.Buffers;
using Engine.Gossip;
using Engine.Gossip.Pull;
using Engine.Ledger;
using Engine.Membership;
using Engine.Transport;
using Engine.Transport.Memory;
using static Engine.Tests.Ledger.LedgerTestKit;

namespace Engine.Tests.Ledger;

/// <summary>The block window served by pull: <see cref="BlockPullSource"/> under the real <see cref="PullEngine"/> on the in-memory network.</summary>
[TestFixture]
public sealed class BlockPullTests
{
    [Test]
    public void APeerBehind_PullsTheWindowsBlocks_AndCommitsThemInOrder()
    {
        var time = new VirtualTimeProvider();
        var network = new MemoryNetwork(NetworkPolicy.Perfect(4), time);
        var pull = new PullOptions
        {
            PullInterval = TimeSpan.FromSeconds(1),
            DigestWaitTime = TimeSpan.FromMilliseconds(100),
            RequestWaitTime = TimeSpan.FromMilliseconds(300),
            ResponseWaitTime = TimeSpan.FromMilliseconds(200),
        };
        var ahead = new PullPeer(network, time, pull, 1);
        var behind = new PullPeer(network, time, pull, 2);
        ahead.Learn(behind, 2);
        behind.Learn(ahead, 1);
        for (ulong n = 1; n <= 15; n++)
        {
            ahead.Ledger.Offer(Block(n), Source);
        }

        ahead.Start();
        behind.Start();
        time.Advance(TimeSpan.FromSeconds(5));

        // Blocks 1..5 left the window (MaxBlockCountToStore = 10): they cannot be pulled, so nothing past them commits.
        Assert.That(behind.Ledger.Height, Is.EqualTo(1UL));
        Assert.That(behind.Ledger.GetStatistics().BufferedNow, Is.EqualTo(10), "6..15 wait in the reorder buffer");

        for (ulong n = 1; n <= 5; n++)
        {
            behind.Ledger.Offer(Block(n), Source);
        }

        Assert.That(behind.Ledger.Height, Is.EqualTo(16UL));
        Assert.That(behind.Commits, Is.EqualTo(Enumerable.Range(0, 16).Select(i => (ulong)i)));
        Assert.That(behind.Source.Repaired, Is.EqualTo(10));
        Assert.That(ahead.Ledger.Height, Is.EqualTo(16UL));
    }

    private sealed class PullPeer : ITransportHandler
    {
        public PullPeer(MemoryNetwork network, VirtualTimeProvider time, PullOptions options, int seed)
        {
            Transport = network.CreateTransport();
            Members = new MembershipTable(new MembershipOptions { InitialCapacity = 8 }, time, new Random(seed));
            Ledger = BlockStore.Join(Genesis(), new LedgerOptions(), time, committed: (in CommittedBlock b) => Commits.Add(b.Number));
            Source = new BlockPullSource(Ledger, new LedgerOptions());
            Engine = new PullEngine(options, Source, Transport, Members, default(GossipRoute), time, new Random(seed));
            Time = time;
        }

        public MemoryTransport Transport { get; }

        public MembershipTable Members { get; }

        public BlockStore Ledger { get; }

        public BlockPullSource Source { get; }

        public PullEngine Engine { get; }

        public VirtualTimeProvider Time { get; }

        public List<ulong> Commits { get; } = [];

        public void Learn(PullPeer other, int id) =>
            Members.Update(Key(id), new MemberAnnouncement(new PeerTime(1, 1), MemberState.Alive, other.Transport.LocalEndpoint, org: "Org1"), Time.GetTimestamp(), out _);

        public void Start()
        {
            Transport.StartAsync(this).AsTask().GetAwaiter().GetResult();
            Engine.Start();
        }

        public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload)
        {
        }

        public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload) => Engine.TryHandle(source, payload.ToArray());

        public void OnConnectionLost(PeerEndpoint peer, string reason)
        {
        }

        private static byte[] Key(int id)
        {
            var key = new byte[32];
            key[0] = (byte)id;
            key[31] = 0xA5;
            return key;
        }
    }
}
