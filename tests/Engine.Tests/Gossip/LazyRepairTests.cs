using Engine.Gossip;
using Engine.Protocol;
using Engine.Tests.Transport;
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
        Assert.That(transport.DatagramDestinations, Is.Empty, "within the grace period nobody is asked");
        time.Advance(TimeSpan.FromMilliseconds(15));
        Assert.That(transport.DatagramDestinations, Is.EqualTo(new[] { A }), "the first announcer is asked");

        repair.OnAnnounce(C, announce);
        time.Advance(TimeSpan.FromMilliseconds(200));
        Assert.That(transport.DatagramDestinations, Is.EqualTo(new[] { A }), "a later announcement asks nobody while the answer may still come");
        time.Advance(TimeSpan.FromMilliseconds(60));
        Assert.That(transport.DatagramDestinations, Is.EqualTo(new[] { A, B }), "no answer within the retry time: the second announcer is asked, once");
        Assert.That(repair.GetStatistics().Retried, Is.EqualTo(1));

        repair.OnAnnounce(C, announce);
        time.Advance(TimeSpan.FromMilliseconds(1500));
        Assert.That(transport.DatagramDestinations, Has.Count.EqualTo(2), "remembered as asked: nobody else is asked");
        Assert.That(repair.WaitingCount, Is.EqualTo(1));
        time.Advance(TimeSpan.FromMilliseconds(300));
        Assert.That(repair.WaitingCount, Is.Zero, "forgotten ForgetAfter after it was first asked for");

        repair.OnAnnounce(C, announce);
        time.Advance(TimeSpan.FromMilliseconds(25));
        Assert.That(transport.DatagramDestinations, Is.EqualTo(new[] { A, B, C }), "announced again after that: asked again");
    }

    [Test]
    public void AMessageAnnouncedWhileAnotherIsRemembered_IsAskedAfterItsGrace_NotAtTheOthersLaterTime()
    {
        var (time, transport, store) = Rig();
        using var repair = new LazyRepair(Graced(), store, transport, time, new Random(2));
        repair.Start();

        repair.OnAnnounce(A, Announce(MessageId.ForAppData([7], 1, 1)));
        time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.That(transport.DatagramDestinations, Is.EqualTo(new[] { A }), "asked; now remembered until 2 s");

        repair.OnAnnounce(B, Announce(MessageId.ForAppData([7], 1, 2)));
        time.Advance(TimeSpan.FromMilliseconds(25));
        Assert.That(transport.DatagramDestinations, Is.EqualTo(new[] { A, B }), "the new message waits its own 20 ms grace, not the remembered one's 2 s");
    }

    [Test]
    public void AnUnansweredWant_IsAskedOnceMoreOfTheSameAnnouncer_WhenRepliesAreDatagrams_NeverWithFrames()
    {
        foreach (bool datagramReplies in new[] { true, false })
        {
            var (time, transport, store) = Rig();
            var options = Graced();
            options.DatagramReplies = datagramReplies;
            using var repair = new LazyRepair(options, store, transport, time, new Random(2));
            repair.Start();

            repair.OnAnnounce(A, Announce(MessageId.ForAppData([7], 1, 1)));
            time.Advance(TimeSpan.FromMilliseconds(25));
            Assert.That(transport.DatagramDestinations, Is.EqualTo(new[] { A }));
            time.Advance(TimeSpan.FromMilliseconds(1900));
            Assert.That(transport.DatagramDestinations, Is.EqualTo(datagramReplies ? new[] { A, A } : new[] { A }),
                datagramReplies ? "the reply datagram may have been lost: asked again, once" : "a frame is not lost: pull repairs the rest");
            Assert.That(repair.GetStatistics().Retried, Is.EqualTo(datagramReplies ? 1 : 0));
        }
    }

    [Test]
    public void AskAtOnce_SendsTheWantWithinTheAnnounce_AndAMessageThatArrivesIsForgotten()
    {
        var (time, transport, store) = Rig();
        using var repair = new LazyRepair(new LazyRepairOptions { AskAtOnce = true, Kinds = LazyKinds.Block }, store, transport, time, new Random(2));
        repair.Start();
        var id = MessageId.ForBlock("ch"u8, 5);

        repair.OnAnnounce(A, Announce(id));
        Assert.That(transport.DatagramDestinations, Is.EqualTo(new[] { A }), "asked before any time passed");
        repair.OnAnnounce(B, Announce(id));
        Assert.That(transport.DatagramDestinations, Is.EqualTo(new[] { A }));

        Assert.That(store.Add(in id, [1, 2, 3]), Is.EqualTo(StoreResult.Added));
        time.Advance(TimeSpan.FromMilliseconds(300));
        Assert.That(transport.DatagramDestinations, Is.EqualTo(new[] { A }), "it arrived: the alternate is not asked");
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
        Assert.That(transport.DatagramDestinations, Is.Empty, "a late announcement of a committed block fetches nothing");
        Assert.That(repair.IsAsked(in committed), Is.False);

        Assert.That(repair.IsAsked(in missing), Is.False, "not announced yet");
        repair.OnAnnounce(B, Announce(missing));
        Assert.That(transport.DatagramDestinations, Is.EqualTo(new[] { B }));
        Assert.That(repair.IsAsked(in missing), Is.True, "asked, not arrived: on its way");

        height = 6; // committed (came by another path)
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.That(repair.IsAsked(in missing), Is.False, "held: forgotten at the next tick, and nobody else is asked");
        Assert.That(transport.DatagramDestinations, Is.EqualTo(new[] { B }));
    }

    [Test]
    public void AWantIsPaddedToAThirdOfADatagram_AndStillNamesJustItsMessages()
    {
        var (time, transport, store) = Rig();
        using var repair = new LazyRepair(Graced(), store, transport, time, new Random(2));
        repair.Start();
        var id = MessageId.ForAppData([7], 1, 1);

        repair.OnAnnounce(A, Announce(id));
        time.Advance(TimeSpan.FromMilliseconds(25));

        Assert.That(transport.Datagrams, Has.Count.EqualTo(1));
        var content = WantContent(transport.Datagrams[0].Payload);
        Assert.That(content.Length, Is.GreaterThanOrEqualTo(1400 / LazyRepair.AmplificationLimit), "padded: its answer may be a whole datagram");
        Assert.That(Digests(content), Is.EqualTo(new[] { Digest(id) }), "the padding names nothing");
    }

    [Test]
    public void AWantIsAnsweredByDatagramUpToThreeTimesItsSize_TheRestInFrames()
    {
        var (time, transport, store) = Rig();
        using var repair = new LazyRepair(Graced(), store, transport, time, new Random(2));
        var first = MessageId.ForAppData([7], 1, 1);
        var second = MessageId.ForAppData([7], 1, 2);
        Assert.That(store.Add(in first, Filled(1000, 1)), Is.EqualTo(StoreResult.Added));
        Assert.That(store.Add(in second, Filled(1000, 2)), Is.EqualTo(StoreResult.Added));

        // Padded (as every Engine peer sends it): the first answer fits one datagram, the second does not.
        repair.OnWant(B, DigestList(467, Digest(first), Digest(second)));
        Assert.That(transport.Datagrams, Has.Count.EqualTo(1));
        Assert.That(transport.Datagrams[0].Destination, Is.EqualTo(B));
        Assert.That(transport.Datagrams[0].Payload.Length, Is.LessThanOrEqualTo(3 * 467));
        Assert.That(RecordingTransport.Records(transport.Datagrams[0].Payload), Is.EqualTo(new[] { Filled(1000, 1) }));
        Assert.That(transport.Frames.Select(f => f.Payload), Is.EqualTo(new[] { Filled(1000, 2) }));

        // Unpadded (a forged source, or a peer that does not pad): three times its size holds no answer: frames only.
        var small = DigestList(0, Digest(first));
        Assert.That(3 * small.Length, Is.LessThan(1000));
        repair.OnWant(C, small);
        Assert.That(transport.Datagrams, Has.Count.EqualTo(1), "nothing larger than three times the Want goes back to an unchecked address");
        Assert.That(transport.Frames, Has.Count.EqualTo(2));

        var stats = repair.GetStatistics();
        Assert.That(stats.Served, Is.EqualTo(3));
        Assert.That(stats.ServedByDatagram, Is.EqualTo(1));
    }

    [Test]
    public void WithoutDatagramReplies_EveryAnswerIsAFrame_AndWantsAreNotPadded()
    {
        var (time, transport, store) = Rig();
        var options = Graced();
        options.DatagramReplies = false;
        using var repair = new LazyRepair(options, store, transport, time, new Random(2));
        repair.Start();
        var id = MessageId.ForAppData([7], 1, 1);
        Assert.That(store.Add(in id, Filled(200, 1)), Is.EqualTo(StoreResult.Added));

        repair.OnWant(B, DigestList(467, Digest(id)));
        Assert.That(transport.Datagrams, Is.Empty);
        Assert.That(transport.Frames, Has.Count.EqualTo(1));

        var other = MessageId.ForAppData([7], 1, 2);
        repair.OnAnnounce(A, Announce(other));
        time.Advance(TimeSpan.FromMilliseconds(25));
        Assert.That(WantContent(transport.Datagrams.Single().Payload).Length, Is.LessThan(100), "no padding");
    }

    private static byte[] Filled(int length, byte value) => Enumerable.Repeat(value, length).ToArray();

    private static byte[] Digest(MessageId id)
    {
        var digest = new byte[MessageId.MaxDigestLength];
        return digest.AsSpan(0, id.WriteDigest(digest)).ToArray();
    }

    /// <summary>An Announce's or Want's content naming <paramref name="digests"/>, padded to <paramref name="padTo"/> bytes (0: not padded).</summary>
    private static byte[] DigestList(int padTo, params byte[][] digests)
    {
        var body = new byte[1400];
        int written = 0;
        foreach (var digest in digests)
        {
            Assert.That(DigestListCodec.AppendDigest(body, ref written, digest), Is.True);
        }

        if (padTo > 0)
        {
            Assert.That(DigestListCodec.Pad(body, ref written, padTo), Is.True);
            Assert.That(written, Is.GreaterThanOrEqualTo(padTo));
        }

        return body.AsSpan(0, written).ToArray();
    }

    private static byte[] WantContent(byte[] datagram)
    {
        var envelope = RecordingTransport.Records(datagram)[0];
        Assert.That(EnvelopeView.TryParse(envelope, out var view), Is.True);
        Assert.That(view.ContentField, Is.EqualTo(EnvelopeView.WantContent));
        return view.Content.ToArray();
    }

    private static List<byte[]> Digests(byte[] content)
    {
        var found = new List<byte[]>();
        var reader = new ProtoSpanReader(content);
        while (DigestListCodec.TryReadNext(ref reader, out var digest, out _))
        {
            found.Add(digest.ToArray());
        }

        return found;
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

    private static byte[] Announce(MessageId id) => DigestList(0, Digest(id));
}
