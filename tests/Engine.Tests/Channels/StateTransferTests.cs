using System.Buffers;
using System.Collections.Concurrent;
using Engine.Channels;
using Engine.Ledger;
using Engine.Protocol;
using Engine.Transport;
using Engine.Transport.Memory;
using static Engine.Tests.Channels.ChannelCluster;

namespace Engine.Tests.Channels;

/// <summary>
/// State transfer (Fabric's gossip/state) through whole nodes on the in-memory network, in virtual time: a peer that
/// joins late or restarts with an empty ledger catches up from its channel peers' archives, in order; Byzantine
/// responders change nothing; requests are answered with what the archive holds, within bounds.
/// </summary>
public sealed class StateTransferTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Test]
    public async Task PeerJoining200BlocksLate_CatchesUpFully_InOrder_WithTheSameBlocks()
    {
        await using var net = new ChannelCluster(2, anchorsInGenesis: true);
        StartAndJoin(net, orgs: 2, peersPerOrg: 2);
        CutAndWait(net, 200);

        var late = net.Start(2, 2, bootstrap: [0], configure: Follower);
        net.Join(late);
        net.RunUntil(() => late.Node.GetLedgerHeight(Channel) == 201, Limit, net.Describe);

        Assert.That(late.Commits.Select(c => c.Number), Is.EqualTo(Sequence(201)), "every block, once, in order");
        AssertSameChain(net.P(1, 0), late, 201);
        var stats = late.Node.GetBlockStatistics(Channel);
        Assert.That(stats.CatchUpRequests, Is.GreaterThanOrEqualTo(20), "200 blocks in batches of 10");
        Assert.That(stats.StateBlocksReceived, Is.EqualTo(200));
        Assert.That(stats.StateRefused, Is.Zero);
        string name = late.Endpoint.ToString();
        var lines = net.Loggers.Lines.Select(l => l.Message).Where(m => m.StartsWith($"Peer {name}: {Channel}:", StringComparison.Ordinal)).ToArray();
        Assert.That(lines, Has.Some.Contains("ledger height 1, peers at 201: requesting blocks 1-10 from "));
        Assert.That(lines, Has.Some.Contains("caught up to height 201 (from height 1"));
        Assert.That(net.Peers.Where(p => p != late).Sum(p => p.Node.GetBlockStatistics(Channel).BlocksServed), Is.EqualTo(200), "each block served once");
    }

    [Test]
    public async Task PeerRestartedWithAnEmptyLedger_CatchesUp_WhileBlocksKeepComing()
    {
        await using var net = new ChannelCluster(1);
        StartAndJoin(net, orgs: 1, peersPerOrg: 4);
        CutAndWait(net, 100);

        var restarted = net.Restart(net.P(1, 2), 1, 2, bootstrap: [0], configure: Follower);
        CutAndWait(net, 30, except: restarted); // it is not back in the channel yet: these it misses too
        net.Join(restarted);
        for (int b = 0; b < 50; b++)
        {
            net.Orderer.CutBlock(Channel, Transactions(b));
            net.Run(TimeSpan.FromMilliseconds(100));
        }

        net.RunUntil(() => net.Peers.All(p => p.Node.GetLedgerHeight(Channel) == 181), Limit, net.Describe);
        Assert.That(restarted.Commits.Select(c => c.Number), Is.EqualTo(Sequence(181)), "from the genesis block, every block once, in order");
        AssertSameChain(net.P(1, 0), restarted, 181);
        var stats = restarted.Node.GetBlockStatistics(Channel);
        Assert.That(stats.StateBlocksReceived, Is.GreaterThanOrEqualTo(130), "what it missed came by state transfer (gaps below pushed blocks, or catch-up)");
        Assert.That(stats.StateRefused, Is.Zero);
    }

    [Test]
    public async Task AGapAskedFor_IsNotAskedAgainWhileTheRequestAwaitsItsAnswer()
    {
        // Under load the answer is slow, not lost: asking again every few milliseconds only sent the same blocks again.
        await using var net = new ChannelCluster(1);
        StartAndJoin(net, orgs: 1, peersPerOrg: 2);
        var transfer = net.P(1, 0).Node.ChannelManager!.Find(Channel)!.StateTransfer;
        var silent = EndpointOf(1, 9); // nobody there: no answer ever comes
        transfer.RequestGap(silent, 5, 9, received: 10);
        transfer.RequestGap(silent, 5, 9, received: 11);
        transfer.RequestGap(silent, 7, 9, received: 12);
        Assert.That(transfer.Counters.GapRequests, Is.EqualTo(1), "blocks 5-9 are asked for once while that request awaits its answer");

        transfer.RequestGap(silent, 10, 12, received: 13);
        Assert.That(transfer.Counters.GapRequests, Is.EqualTo(2), "blocks outside it are asked for");

        net.Run(new StateTransferOptions().ResponseTimeout + TimeSpan.FromMilliseconds(100));
        transfer.RequestGap(silent, 5, 9, received: 14);
        Assert.That(transfer.Counters.GapRequests, Is.EqualTo(3), "after the response timeout the gap is asked for again");
    }

    [Test]
    public async Task AnAnswerThatComesAfterTheTimeout_IsStillTaken()
    {
        // Under load answers are slow, not wrong: refusing a late one only had the same blocks sent again.
        await using var net = new ChannelCluster(1);
        StartAndJoin(net, orgs: 1, peersPerOrg: 2);
        CutAndWait(net, 30);
        HoldingTransport? holding = null;
        var late = net.Start(1, 2, bootstrap: [0], configure: Follower, transport: m => holding = new HoldingTransport(m));
        net.Join(late);
        net.RunUntil(() => holding!.Held > 0, Limit, net.Describe);
        net.Run(new StateTransferOptions().ResponseTimeout + TimeSpan.FromMilliseconds(200)); // timed out: another peer asked

        holding!.Release(first: 1);
        var stats = late.Node.GetBlockStatistics(Channel);
        Assert.That(stats.StateBlocksReceived, Is.GreaterThanOrEqualTo(10), "the late answer's blocks were taken");
        Assert.That(stats.StateRefused, Is.Zero, "nothing refused as late");

        holding.Pass = true;
        holding.Release(first: int.MaxValue);
        net.RunUntil(() => late.Node.GetLedgerHeight(Channel) == 31, Limit, net.Describe);
        Assert.That(late.Commits.Select(c => c.Number), Is.EqualTo(Sequence(31)));
    }

    [Test]
    public async Task PeerJoiningLate_WhenNobodyAdvertisesMore_DoesNotAsk()
    {
        await using var net = new ChannelCluster(1);
        StartAndJoin(net, orgs: 1, peersPerOrg: 3);
        net.Run(TimeSpan.FromSeconds(30));
        Assert.That(net.Peers.Sum(p => p.Node.GetBlockStatistics(Channel).CatchUpRequests), Is.Zero, "all at height 1: nothing to catch up");
    }

    [TestCase(Lie.Unrequested)]
    [TestCase(Lie.OutOfRange)]
    [TestCase(Lie.TooMany)]
    [TestCase(Lie.Replayed)]
    public async Task ByzantineResponder_ChangesNothing(Lie lie)
    {
        await using var net = new ChannelCluster(1);
        ByzantineTransport? byzantine = null;
        net.Start(1, 0);
        var liar = net.Start(1, 1, bootstrap: [0], transport: m => byzantine = new ByzantineTransport(m, lie));
        net.Start(1, 2, bootstrap: [0]);
        foreach (var peer in net.Peers)
        {
            net.Join(peer);
        }

        WaitForChannel(net, 1, 3);
        CutAndWait(net, 60);

        var late = net.Start(1, 3, bootstrap: [0], configure: Follower);
        net.Join(late);
        net.RunUntil(() => late.Node.GetLedgerHeight(Channel) == 61, Limit, net.Describe);

        Assert.That(byzantine!.Lies, Is.GreaterThan(0), "the liar was asked and lied");
        Assert.That(late.Commits.Select(c => c.Number), Is.EqualTo(Sequence(61)));
        AssertSameChain(net.P(1, 0), late, 61);
        Assert.That(late.Node.GetBlockStatistics(Channel).StateRefused, Is.GreaterThan(0), "the lies were refused and counted");
        Assert.That(net.Loggers.Lines.Where(l => l.EventId == 6310).Select(l => l.Message), Has.Some.Contains($"refused a state response from {liar.Endpoint}"),
            "logged with the sender");
    }

    [Test]
    public async Task Requests_AreAnsweredWithWhatTheArchiveHolds_AndBadOnesAreRefused()
    {
        // Archives of 30 blocks (window 10): after 60 blocks each peer holds blocks 31-60.
        await using var net = new ChannelCluster(1, configure: o => o.Ledger.ArchiveBlockCount = 30);
        TapTransport? tap = null;
        var responder = net.Start(1, 0);
        net.Start(1, 1, bootstrap: [0], transport: m => tap = new TapTransport(m));
        net.Start(1, 2, bootstrap: [0]);
        foreach (var peer in net.Peers)
        {
            net.Join(peer);
        }

        WaitForChannel(net, 1, 3);
        CutAndWait(net, 60);

        ulong[]? Ask(ulong nonce, ulong start, ulong end)
        {
            tap!.Send(responder.Endpoint, ChannelMessages.StateRequest(ChannelBytes, nonce, start, end));
            net.Run(TimeSpan.FromMilliseconds(200));
            return tap.Responses.TryGetValue(nonce, out var blocks) ? blocks : null;
        }

        Assert.That(Ask(101, 25, 34), Is.EqualTo(new ulong[] { 31, 32, 33, 34 }), "below the archive: what is held in the range");
        Assert.That(Ask(102, 55, 65), Is.EqualTo(new ulong[] { 55, 56, 57, 58, 59, 60 }), "beyond the height: up to the height");
        Assert.That(Ask(103, 100, 105), Is.Empty, "nothing held: an empty answer");
        Assert.That(Ask(104, 40, 50), Has.Length.EqualTo(11), "batch size + 1 blocks (Fabric's limit)");
        long refusedBefore = responder.Node.GetBlockStatistics(Channel).StateRefused;
        Assert.That(Ask(105, 31, 60), Is.Null, "more than batch size + 1: refused, no answer");
        Assert.That(Ask(106, 50, 40), Is.Null, "a reversed range: refused");
        Assert.That(Ask(107, 0, ulong.MaxValue), Is.Null, "a huge range: refused");
        Assert.That(responder.Node.GetBlockStatistics(Channel).StateRefused - refusedBefore, Is.EqualTo(3));
        Assert.That(net.Loggers.Lines.Where(l => l.EventId == 6311).Select(l => l.Message), Has.Some.Contains($"refused a state request from {tap!.LocalEndpoint}"));

        // A stranger (no StateInfo in the channel) gets nothing.
        var stranger = new TapTransport(net.Network.CreateTransport(PeerEndpoint.FromIPv4(0x0A00_0909u, 7051)));
        await stranger.StartAsync(new NullHandler());
        stranger.Send(responder.Endpoint, ChannelMessages.StateRequest(ChannelBytes, 108, 31, 35));
        net.Run(TimeSpan.FromMilliseconds(200));
        Assert.That(stranger.Responses, Is.Empty, "a requester outside the channel is refused");
        await stranger.DisposeAsync();

        // A late joiner: nobody holds blocks 1-30 any more, so it asks, is answered with nothing, and stops until the next check.
        var late = net.Start(1, 3, bootstrap: [0], configure: Follower);
        net.Join(late);
        net.Run(TimeSpan.FromSeconds(25));
        Assert.That(late.Node.GetLedgerHeight(Channel), Is.EqualTo(1));
        Assert.That(late.Node.GetBlockStatistics(Channel).CatchUpRequests, Is.GreaterThanOrEqualTo(4), "one request and three retries per round");
        Assert.That(net.Loggers.Lines.Where(l => l.EventId == 6309).Select(l => l.Message),
            Has.Some.Contains($"Peer {late.Endpoint}: {Channel}: catching up stopped at height 1 (peers at 61)"));
    }

    [Test]
    public async Task UnansweredRequest_IsAskedOfAnotherPeer_AfterTheResponseTimeout()
    {
        await using var net = new ChannelCluster(1);
        SilentTransport? silent = null;
        net.Start(1, 0);
        net.Start(1, 1, bootstrap: [0], transport: m => silent = new SilentTransport(m));
        foreach (var peer in net.Peers)
        {
            net.Join(peer);
        }

        WaitForChannel(net, 1, 2);
        CutAndWait(net, 60); // the last 10 pull could bring: the rest only state transfer
        var late = net.Start(1, 2, bootstrap: [0], configure: Follower);
        net.Join(late);
        net.RunUntil(() => late.Node.GetLedgerHeight(Channel) == 61, Limit, net.Describe);
        AssertSameChain(net.P(1, 0), late, 61);
        Assert.That(silent!.Swallowed, Is.GreaterThan(0), "the silent peer was asked");
        Assert.That(net.Loggers.Lines.Where(l => l.EventId == 6313).Select(l => l.Message),
            Has.Some.Contains($"no answer from {silent.LocalEndpoint} for blocks"));
    }

    // ---- helpers ----

    /// <summary>
    /// A static follower: a peer that joins before it has seen anyone's StateInfo can elect itself for a moment and open
    /// a delivery stream, and the orderer would bring it the blocks; these tests are about state transfer.
    /// </summary>
    private static void Follower(Engine.Node.GossipOptions o) => o.Election.UseLeaderElection = false;

    private static readonly byte[] ChannelBytes = System.Text.Encoding.UTF8.GetBytes(Channel);

    private static void StartAndJoin(ChannelCluster net, int orgs, int peersPerOrg)
    {
        for (int org = 1; org <= orgs; org++)
        {
            for (int i = 0; i < peersPerOrg; i++)
            {
                net.Start(org, i, bootstrap: i == 0 ? [] : [0]);
            }
        }

        foreach (var peer in net.Peers)
        {
            net.Join(peer);
        }

        WaitForChannel(net, orgs, orgs * peersPerOrg);
    }

    private static void WaitForChannel(ChannelCluster net, int orgs, int peers) =>
        net.RunUntil(() => Enumerable.Range(1, orgs).All(o => net.Leaders($"Org{o}").Length == 1)
            && net.Peers.All(p => p.Node.GetChannelView(Channel).Members.Count == peers - 1), Limit, net.Describe);

    private static byte[] Transactions(int b) => Enumerable.Range(0, 100 + (b % 5)).Select(i => (byte)(b + i)).ToArray();

    /// <summary>Cuts <paramref name="count"/> blocks, 20 a second, and waits until every running peer (but <paramref name="except"/>) has them.</summary>
    private static void CutAndWait(ChannelCluster net, int count, ChannelCluster.Peer? except = null)
    {
        for (int b = 0; b < count; b++)
        {
            net.Orderer.CutBlock(Channel, Transactions(b));
            net.Run(TimeSpan.FromMilliseconds(50));
        }

        ulong height = net.Orderer.Height(Channel);
        net.RunUntil(() => net.Peers.Where(p => p != except && p.Node.IsRunning).All(p => p.Node.GetLedgerHeight(Channel) == height), Limit, net.Describe);
    }

    private static IEnumerable<ulong> Sequence(int height) => Enumerable.Range(0, height).Select(i => (ulong)i);

    private static void AssertSameChain(ChannelCluster.Peer honest, ChannelCluster.Peer other, int height)
    {
        var a = honest.Node.ChannelLayer!.Find(Channel)!.Store;
        var b = other.Node.ChannelLayer!.Find(Channel)!.Store;
        for (ulong n = 0; n < (ulong)height; n++)
        {
            var x = new ArrayBufferWriter<byte>();
            var y = new ArrayBufferWriter<byte>();
            Assert.That(a.TryCopyBlock(n, x) && b.TryCopyBlock(n, y), Is.True, $"block {n} held by both");
            Assert.That(y.WrittenSpan.SequenceEqual(x.WrittenSpan), Is.True, $"block {n} is the orderer's");
        }
    }

    private static (ulong Nonce, ulong Start, ulong End)? ReadRequest(ReadOnlySpan<byte> frame)
    {
        if (!EnvelopeView.TryParse(frame, out var view) || view.ContentField != ChannelMessages.StateRequestContent
            || !ChannelMessages.TryReadStateRequest(view.Content, out ulong start, out ulong end))
        {
            return null;
        }

        return (view.Nonce, start, end);
    }

    private static byte[] ForgedPayload(ulong number)
    {
        var block = BlockCodec.Encode(ChannelBytes, number, Enumerable.Repeat((byte)0xEE, 100).ToArray());
        BlockCodec.TryRead(block, out _, out var payload);
        return payload.ToArray();
    }

    public enum Lie
    {
        /// <summary>Forged blocks for the asked range under a nonce nobody used.</summary>
        Unrequested,

        /// <summary>The asked blocks forged, plus one beyond the range, under the request's nonce.</summary>
        OutOfRange,

        /// <summary>The asked blocks forged, twice over (more blocks than asked for), under the request's nonce.</summary>
        TooMany,

        /// <summary>The honest answer, then a forged answer under the same, already answered nonce.</summary>
        Replayed,
    }

    /// <summary>A real node's transport that lies in answer to the state requests it receives.</summary>
    private sealed class ByzantineTransport(MemoryTransport inner, Lie lie) : WrappingTransport(inner)
    {
        private int _lies;

        public int Lies => Volatile.Read(ref _lies);

        public override void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload)
        {
            var bytes = payload.ToArray();
            if (ReadRequest(bytes) is not { } request)
            {
                Handler?.OnFrame(source, payload);
                return;
            }

            Interlocked.Increment(ref _lies);
            var forged = new List<byte[]>();
            for (ulong n = request.Start; n <= request.End; n++)
            {
                forged.Add(ForgedPayload(n));
            }

            switch (lie)
            {
                case Lie.Unrequested:
                    Inner.SendFrame(source, ChannelMessages.StateResponse(ChannelBytes, request.Nonce ^ 0x5555, forged));
                    Handler?.OnFrame(source, payload); // then the honest answer
                    break;
                case Lie.OutOfRange:
                    forged.Add(ForgedPayload(request.End + 1));
                    Inner.SendFrame(source, ChannelMessages.StateResponse(ChannelBytes, request.Nonce, forged));
                    break;
                case Lie.TooMany:
                    Inner.SendFrame(source, ChannelMessages.StateResponse(ChannelBytes, request.Nonce, [.. forged, .. forged]));
                    break;
                case Lie.Replayed:
                    Handler?.OnFrame(source, payload); // the honest answer (the node sends it at once), then the replay
                    Inner.SendFrame(source, ChannelMessages.StateResponse(ChannelBytes, request.Nonce, forged));
                    break;
            }
        }
    }

    /// <summary>A real node's transport that never answers state requests (they are swallowed on the way in).</summary>
    private sealed class SilentTransport(MemoryTransport inner) : WrappingTransport(inner)
    {
        private int _swallowed;

        public int Swallowed => Volatile.Read(ref _swallowed);

        public override void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload)
        {
            if (ReadRequest(payload.ToArray()) is not null)
            {
                Interlocked.Increment(ref _swallowed);
                return;
            }

            Handler?.OnFrame(source, payload);
        }
    }

    /// <summary>A transport the test sends through (as the node it belongs to, when it wraps one) and that keeps the state responses to the test's nonces (100-199).</summary>
    private sealed class TapTransport(MemoryTransport inner) : WrappingTransport(inner)
    {
        public ConcurrentDictionary<ulong, ulong[]> Responses { get; } = new();

        public void Send(PeerEndpoint to, byte[] frame) => Assert.That(Inner.SendFrame(to, frame), Is.EqualTo(SendStatus.Sent));

        public override void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload)
        {
            var bytes = payload.ToArray();
            if (EnvelopeView.TryParse(bytes, out var view) && view.ContentField == ChannelMessages.StateResponseContent && view.Nonce is >= 100 and < 200)
            {
                var payloads = new List<byte[]>();
                Assert.That(ChannelMessages.TryReadStateResponse(view.Content, payloads), Is.True);
                Responses[view.Nonce] = payloads.Select(p =>
                {
                    var envelope = new byte[BlockCodec.WrappedSize(ChannelBytes, p.Length)];
                    BlockCodec.WrapPayload(envelope, ChannelBytes, p);
                    Assert.That(BlockCodec.TryRead(envelope, out var block), Is.Null);
                    return block.Sequence;
                }).ToArray();
                return;
            }

            Handler?.OnFrame(source, payload);
        }
    }

    /// <summary>A node's transport seen through: everything passes both ways except the frames <see cref="OnFrame"/> intercepts.</summary>
    /// <summary>Holds the state responses this peer receives until the test releases them (or lets them pass).</summary>
    private sealed class HoldingTransport(MemoryTransport inner) : WrappingTransport(inner)
    {
        private readonly Queue<(PeerEndpoint Source, byte[] Frame)> _held = new();

        public int Held => _held.Count;

        public bool Pass { get; set; }

        public override void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload)
        {
            var bytes = payload.ToArray();
            if (!Pass && EnvelopeView.TryParse(bytes, out var view) && view.ContentField == ChannelMessages.StateResponseContent)
            {
                _held.Enqueue((source, bytes));
                return;
            }

            Handler?.OnFrame(source, payload);
        }

        public void Release(int first)
        {
            for (int i = 0; i < first && _held.TryDequeue(out var held); i++)
            {
                Handler?.OnFrame(held.Source, new ReadOnlySequence<byte>(held.Frame));
            }
        }
    }

    private abstract class WrappingTransport(MemoryTransport inner) : ITransport, ITransportHandler
    {
        protected ITransportHandler? Handler { get; private set; }

        protected MemoryTransport Inner => inner;

        public PeerEndpoint LocalEndpoint => inner.LocalEndpoint;

        public int MaxDatagramPayload => inner.MaxDatagramPayload;

        public int MaxFramePayload => inner.MaxFramePayload;

        public ValueTask StartAsync(ITransportHandler handler, CancellationToken cancellationToken = default)
        {
            Handler = handler;
            return inner.StartAsync(this, cancellationToken);
        }

        public SendStatus SendDatagram(PeerEndpoint destination, ReadOnlySpan<byte> payload) => inner.SendDatagram(destination, payload);

        public SendStatus SendFrame(PeerEndpoint destination, ReadOnlySpan<byte> payload) => inner.SendFrame(destination, payload);

        public ValueTask DisposeAsync() => inner.DisposeAsync();

        public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload) => Handler?.OnDatagram(source, payload);

        public void OnConnectionLost(PeerEndpoint peer, string reason) => Handler?.OnConnectionLost(peer, reason);

        public abstract void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload);
    }

    private sealed class NullHandler : ITransportHandler
    {
        public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload)
        {
        }

        public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload)
        {
        }

        public void OnConnectionLost(PeerEndpoint peer, string reason)
        {
        }
    }
}
