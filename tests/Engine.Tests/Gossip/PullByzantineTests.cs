using System.Buffers;
using System.Collections.Concurrent;
using Engine.Gossip;
using Engine.Gossip.Pull;
using Engine.Protocol;
using Engine.Transport;
using Engine.Transport.Memory;

namespace Engine.Tests.Gossip;

/// <summary>A responder (and requesters) that break the protocol on purpose: nothing they send gets in, and every drop is counted.</summary>
public class PullByzantineTests
{
    private static byte[] PullFrame(PullMessageType type, ulong nonce, params byte[][] items)
    {
        int itemsSize = items.Sum(i => PullMessageWriter.ItemSize(i.Length));
        var buffer = new byte[PullMessageWriter.EnvelopeSize(type, nonce, PullMsgType.BlockMsg, GossipCluster.ChannelBytes, GossipMessage.Types.Tag.ChanAndOrg, itemsSize)];
        var writer = PullMessageWriter.Begin(buffer, type, nonce, PullMsgType.BlockMsg, GossipCluster.ChannelBytes, GossipMessage.Types.Tag.ChanAndOrg, itemsSize);
        foreach (var item in items)
        {
            writer.AddItem(item);
        }

        return buffer[..writer.Finish()];
    }

    private static byte[] BlockDigest(ulong sequence)
    {
        var id = MessageId.ForBlock(GossipCluster.ChannelBytes, sequence);
        var digest = new byte[id.DigestLength];
        id.WriteDigest(digest);
        return digest;
    }

    [Test]
    public void AByzantineResponderCannotInjectData()
    {
        var cluster = new GossipCluster(push: false, pull: true);
        var victim = cluster.AddPeer();
        var byzantine = new RawPeer(cluster.Network);
        var spoofer = new RawPeer(cluster.Network);
        victim.Members.Update(GossipCluster.Key(900), new Engine.Membership.MemberAnnouncement(new Engine.Membership.PeerTime(1, 1), Engine.Membership.MemberState.Alive, byzantine.Endpoint, org: "Org1MSP"), 0, out _);

        // An update before any hello: unknown nonce.
        byzantine.Send(victim.Endpoint, PullFrame(PullMessageType.Update, 12345, GossipMessages.Block(66)));
        cluster.Run(TimeSpan.FromMilliseconds(1));

        victim.PullEngine!.StartRound();
        cluster.Run(TimeSpan.FromMilliseconds(1));
        var hello = byzantine.Take(PullMessageType.Hello);
        ulong nonce = hello.Nonce;

        // Advertise block 1 only; a second digest for the same hello is refused.
        byzantine.Send(victim.Endpoint, PullFrame(PullMessageType.Digest, nonce, BlockDigest(1)));
        byzantine.Send(victim.Endpoint, PullFrame(PullMessageType.Digest, nonce, BlockDigest(2)));
        cluster.Run(TimeSpan.FromMilliseconds(101));
        var request = byzantine.Take(PullMessageType.Request);
        Assert.That(request.Nonce, Is.EqualTo(nonce));
        Assert.That(request.Items, Has.Count.EqualTo(1));

        byzantine.Send(victim.Endpoint, PullFrame(PullMessageType.Update, nonce + 1, GossipMessages.Block(1)));   // wrong nonce
        spoofer.Send(victim.Endpoint, PullFrame(PullMessageType.Update, nonce, GossipMessages.Block(1)));        // right nonce, wrong peer
        byzantine.Send(victim.Endpoint, PullFrame(PullMessageType.Update, nonce, GossipMessages.Block(2), GossipMessages.Block(3))); // never requested
        byzantine.Send(victim.Endpoint, PullFrame(PullMessageType.Update, nonce, [0x0A, 0x02, 0xFF]));            // garbage item
        cluster.Run(TimeSpan.FromMilliseconds(1));
        Assert.That(victim.DeliveredCount, Is.Zero, "nothing got in");

        var update = PullFrame(PullMessageType.Update, nonce, GossipMessages.Block(1));
        byzantine.Send(victim.Endpoint, update);  // the honest answer
        byzantine.Send(victim.Endpoint, update);  // replayed
        cluster.Run(TimeSpan.FromMilliseconds(1));

        Assert.That(victim.Delivered.Keys, Is.EquivalentTo(new ulong[] { 1 }));
        Assert.That(victim.Delivered[1], Is.EqualTo(1));
        var stats = victim.PullEngine.GetStatistics();
        Assert.That(stats.UnknownNonce, Is.EqualTo(3), "update before hello, wrong nonce, replay after the round closed");
        Assert.That(stats.MismatchedSender, Is.EqualTo(1));
        Assert.That(stats.Unexpected, Is.EqualTo(1), "second digest");
        Assert.That(stats.Unrequested, Is.EqualTo(2));
        Assert.That(stats.BadItems, Is.EqualTo(1));
        Assert.That(stats.ItemsReceived, Is.EqualTo(1));
        Assert.That(victim.Store.Count, Is.EqualTo(1));
    }

    [Test]
    public void AResponderAnswersOnlyValidNoncesOnceAndOnlyWithHeldItems()
    {
        var cluster = new GossipCluster(push: false, pull: true);
        var responder = cluster.AddPeer();
        responder.Publish(1);
        responder.Publish(2);
        var asker = new RawPeer(cluster.Network);

        // A request without a hello: nothing is sent.
        asker.Send(responder.Endpoint, PullFrame(PullMessageType.Request, 7, BlockDigest(1)));
        cluster.Run(TimeSpan.FromMilliseconds(1));
        Assert.That(asker.Received, Is.Empty);

        asker.Send(responder.Endpoint, PullFrame(PullMessageType.Hello, 8));
        cluster.Run(TimeSpan.FromMilliseconds(1));
        var digest = asker.Take(PullMessageType.Digest);
        Assert.That((digest.Nonce, digest.Items.Count), Is.EqualTo((8UL, 2)));

        // Asks for a held item, one never held, and the held one twice: one update with one item.
        asker.Send(responder.Endpoint, PullFrame(PullMessageType.Request, 8, BlockDigest(1), BlockDigest(5), BlockDigest(1)));
        cluster.Run(TimeSpan.FromMilliseconds(1));
        var update = asker.Take(PullMessageType.Update);
        Assert.That(update.Items, Has.Count.EqualTo(1));
        Assert.That(GossipMessages.BlockSequence(update.Items[0]), Is.EqualTo(1UL));

        // The nonce is spent, and a fresh one expires after RequestWaitTime.
        asker.Send(responder.Endpoint, PullFrame(PullMessageType.Request, 8, BlockDigest(2)));
        asker.Send(responder.Endpoint, PullFrame(PullMessageType.Hello, 9));
        cluster.Run(TimeSpan.FromMilliseconds(301));
        asker.Take(PullMessageType.Digest);
        asker.Send(responder.Endpoint, PullFrame(PullMessageType.Request, 9, BlockDigest(2)));
        cluster.Run(TimeSpan.FromMilliseconds(1));
        Assert.That(asker.Received, Is.Empty);
        Assert.That(responder.PullEngine!.GetStatistics().UnknownNonce, Is.EqualTo(3));
    }

    [Test]
    public void UpdatesAreSplitByBytesAndRequestsBoundedByItems()
    {
        var cluster = new GossipCluster(push: false, pull: true, configurePull: o =>
        {
            o.MaxUpdateBytes = 2000;
            o.MaxItemsPerRequest = 10;
        });
        var responder = cluster.AddPeer();
        for (ulong b = 0; b < 30; b++)
        {
            responder.Publish(b, dataBytes: 500);
        }

        var asker = new RawPeer(cluster.Network);
        asker.Send(responder.Endpoint, PullFrame(PullMessageType.Hello, 3));
        cluster.Run(TimeSpan.FromMilliseconds(1));
        asker.Take(PullMessageType.Digest);
        asker.Send(responder.Endpoint, PullFrame(PullMessageType.Request, 3, Enumerable.Range(0, 30).Select(b => BlockDigest((ulong)b)).ToArray()));
        cluster.Run(TimeSpan.FromMilliseconds(1));
        var updates = asker.Received.ToList();
        Assert.That(updates.Sum(u => u.Items.Count), Is.EqualTo(10), "at most MaxItemsPerRequest items per request");
        Assert.That(updates, Has.Count.EqualTo(4), "about 550-byte items, 2000 bytes per update: 3 + 3 + 3 + 1");
    }

    /// <summary>A bare transport that records the pull messages it gets and sends whatever the test crafts.</summary>
    private sealed class RawPeer : ITransportHandler
    {
        private readonly MemoryTransport _transport;

        public RawPeer(MemoryNetwork network)
        {
            _transport = network.CreateTransport();
            _transport.StartAsync(this).AsTask().GetAwaiter().GetResult();
        }

        public PeerEndpoint Endpoint => _transport.LocalEndpoint;

        public ConcurrentQueue<Received> Received { get; } = new();

        public void Send(PeerEndpoint to, byte[] frame) => Assert.That(_transport.SendFrame(to, frame), Is.EqualTo(SendStatus.Sent));

        public Received Take(PullMessageType type)
        {
            Assert.That(Received.TryDequeue(out var message), Is.True, $"expected a {type}");
            Assert.That(message!.Type, Is.EqualTo(type));
            return message;
        }

        public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload)
        {
        }

        public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload)
        {
            var bytes = payload.ToArray();
            Assert.That(PullMessage.TryParse(bytes, out var message, out _), Is.True);
            var items = new List<byte[]>();
            foreach (var item in message.Items)
            {
                items.Add(item.ToArray());
            }

            Received.Enqueue(new Received(message.Type, message.Nonce, items));
        }

        public void OnConnectionLost(PeerEndpoint peer, string reason)
        {
        }
    }

    internal sealed record Received(PullMessageType Type, ulong Nonce, List<byte[]> Items);
}
