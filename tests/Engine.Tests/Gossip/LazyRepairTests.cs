using Engine.Gossip;
using Engine.Protocol;
using Engine.Transport;
using Engine.Transport.Memory;

namespace Engine.Tests.Gossip;

/// <summary>The receiving side of lazy push: when it asks, whom, how often, and for how long it remembers.</summary>
public sealed class LazyRepairTests
{
    private static readonly PeerEndpoint A = PeerEndpoint.FromIPv4(0x0A00_0001u, 7051);
    private static readonly PeerEndpoint B = PeerEndpoint.FromIPv4(0x0A00_0002u, 7051);
    private static readonly PeerEndpoint C = PeerEndpoint.FromIPv4(0x0A00_0003u, 7051);

    [Test]
    public void AMessageAnnouncedByManyIsAskedOfTheFirst_OnceMoreOfAnother_ThenRememberedUntilForgotten()
    {
        var (time, transport, store) = Rig();
        using var repair = new LazyRepair(Graced(), store, transport, time, new Random(2));
        repair.Start();
        var announce = Announce(MessageId.ForAppData([7], 1, 1));

        repair.OnAnnounce(A, announce);
        time.Advance(TimeSpan.FromMilliseconds(10));
        repair.OnAnnounce(B, announce);
        Assert.That(transport.Wants, Is.Empty, "within the grace period nobody is asked");
        time.Advance(TimeSpan.FromMilliseconds(15));
        Assert.That(transport.Wants, Is.EqualTo(new[] { A }), "the first announcer is asked");

        repair.OnAnnounce(C, announce);
        time.Advance(TimeSpan.FromMilliseconds(200));
        Assert.That(transport.Wants, Is.EqualTo(new[] { A }), "a later announcement asks nobody while the answer may still come");
        time.Advance(TimeSpan.FromMilliseconds(60));
        Assert.That(transport.Wants, Is.EqualTo(new[] { A, B }), "no answer within the retry time: the second announcer is asked, once");
        Assert.That(repair.GetStatistics().Retried, Is.EqualTo(1));

        repair.OnAnnounce(C, announce);
        time.Advance(TimeSpan.FromMilliseconds(1500));
        Assert.That(transport.Wants, Has.Count.EqualTo(2), "remembered as asked: nobody else is asked");
        Assert.That(repair.WaitingCount, Is.EqualTo(1));
        time.Advance(TimeSpan.FromMilliseconds(300));
        Assert.That(repair.WaitingCount, Is.Zero, "forgotten ForgetAfter after it was first asked for");

        repair.OnAnnounce(C, announce);
        time.Advance(TimeSpan.FromMilliseconds(25));
        Assert.That(transport.Wants, Is.EqualTo(new[] { A, B, C }), "announced again after that: asked again");
    }

    [Test]
    public void AMessageAnnouncedWhileAnotherIsRemembered_IsAskedAfterItsGrace_NotAtTheOthersLaterTime()
    {
        var (time, transport, store) = Rig();
        using var repair = new LazyRepair(Graced(), store, transport, time, new Random(2));
        repair.Start();

        repair.OnAnnounce(A, Announce(MessageId.ForAppData([7], 1, 1)));
        time.Advance(TimeSpan.FromMilliseconds(300));
        Assert.That(transport.Wants, Is.EqualTo(new[] { A }), "asked; now remembered until 2 s");

        repair.OnAnnounce(B, Announce(MessageId.ForAppData([7], 1, 2)));
        time.Advance(TimeSpan.FromMilliseconds(25));
        Assert.That(transport.Wants, Is.EqualTo(new[] { A, B }), "the new message waits its own 20 ms grace, not the remembered one's 2 s");
    }

    [Test]
    public void AskAtOnce_SendsTheWantWithinTheAnnounce_AndAMessageThatArrivesIsForgotten()
    {
        var (time, transport, store) = Rig();
        using var repair = new LazyRepair(new LazyRepairOptions { AskAtOnce = true, Kinds = LazyKinds.Block }, store, transport, time, new Random(2));
        repair.Start();
        var id = MessageId.ForBlock("ch"u8, 5);

        repair.OnAnnounce(A, Announce(id));
        Assert.That(transport.Wants, Is.EqualTo(new[] { A }), "asked before any time passed");
        repair.OnAnnounce(B, Announce(id));
        Assert.That(transport.Wants, Is.EqualTo(new[] { A }));

        Assert.That(store.Add(in id, [1, 2, 3]), Is.EqualTo(StoreResult.Added));
        time.Advance(TimeSpan.FromMilliseconds(300));
        Assert.That(transport.Wants, Is.EqualTo(new[] { A }), "it arrived: the alternate is not asked");
        Assert.That(repair.WaitingCount, Is.Zero);
    }

    [Test]
    public void ABlockHeldElsewhere_IsNeverAsked_AndOneAskedIsReportedAsOnItsWayUntilItArrives()
    {
        var (time, transport, store) = Rig();
        ulong height = 5; // the ledger: blocks 0-4 committed (and no longer in the message store)
        using var repair = new LazyRepair(new LazyRepairOptions { AskAtOnce = true, Kinds = LazyKinds.Block }, store, transport, time, new Random(2))
        {
            Held = (in MessageId id) => id.Sequence < height,
        };
        repair.Start();
        var committed = MessageId.ForBlock("ch"u8, 4);
        var missing = MessageId.ForBlock("ch"u8, 5);

        repair.OnAnnounce(A, Announce(committed));
        Assert.That(transport.Wants, Is.Empty, "a late announcement of a committed block fetches nothing");
        Assert.That(repair.IsAsked(in committed), Is.False);

        Assert.That(repair.IsAsked(in missing), Is.False, "not announced yet");
        repair.OnAnnounce(B, Announce(missing));
        Assert.That(transport.Wants, Is.EqualTo(new[] { B }));
        Assert.That(repair.IsAsked(in missing), Is.True, "asked, not arrived: on its way");

        height = 6; // committed (came by another path)
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.That(repair.IsAsked(in missing), Is.False, "held: forgotten at the next tick, and nobody else is asked");
        Assert.That(transport.Wants, Is.EqualTo(new[] { B }));
    }

    /// <summary>Virtual time, a transport recording the Wants, and a message store: what every repair here runs on.</summary>
    private static (VirtualTimeProvider Time, RecordingTransport Transport, MessageStore Store) Rig()
    {
        var time = new VirtualTimeProvider();
        return (time, new RecordingTransport(), new MessageStore(new MessageStoreOptions { MaxEntries = 64 }, time, new Random(1)));
    }

    /// <summary>Application-data repair with a 20 ms grace, a retry after 250 ms and forgetting after 2 s.</summary>
    private static LazyRepairOptions Graced() =>
        new() { Grace = TimeSpan.FromMilliseconds(20), RetryAfter = TimeSpan.FromMilliseconds(250), ForgetAfter = TimeSpan.FromSeconds(2) };

    private static byte[] Announce(MessageId id)
    {
        var digest = new byte[MessageId.MaxDigestLength];
        int length = id.WriteDigest(digest);
        var body = new byte[256];
        int written = 0;
        Assert.That(DigestListCodec.AppendDigest(body, ref written, digest.AsSpan(0, length)), Is.True);
        return body.AsSpan(0, written).ToArray();
    }

    /// <summary>Records the destinations of Want datagrams (the only thing lazy repair sends as a datagram).</summary>
    private sealed class RecordingTransport : ITransport
    {
        public List<PeerEndpoint> Wants { get; } = [];

        public PeerEndpoint LocalEndpoint => PeerEndpoint.FromIPv4(0x0A00_0063u, 7051);

        public int MaxDatagramPayload => 1400;

        public int MaxFramePayload => 1 << 20;

        public ValueTask StartAsync(ITransportHandler handler, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public SendStatus SendDatagram(PeerEndpoint destination, ReadOnlySpan<byte> payload)
        {
            Wants.Add(destination);
            return SendStatus.Sent;
        }

        public SendStatus SendFrame(PeerEndpoint destination, ReadOnlySpan<byte> payload) => SendStatus.Sent;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
