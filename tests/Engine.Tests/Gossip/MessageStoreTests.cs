using Engine.Gossip;
using Engine.Membership;
using Engine.Tests.Transport;

namespace Engine.Tests.Gossip;

public class MessageStoreTests
{
    private static readonly byte[] ChannelBytes = "ch1"u8.ToArray();

    private static MessageStore NewStore(ManualTimeProvider time, int maxEntries = 1000, long maxBytes = 1 << 20, double ttlSeconds = 60, int shards = 0) =>
        new(new MessageStoreOptions { MaxEntries = maxEntries, MaxBytes = maxBytes, TimeToLive = TimeSpan.FromSeconds(ttlSeconds), Shards = shards }, time, new Random(7));

    private static StoreResult AddEnvelope(MessageStore store, byte[] envelope)
    {
        Assert.That(MessageIdentity.TryRead(envelope, out var id), Is.EqualTo(IdentityError.None));
        return store.Add(in id, envelope);
    }

    [Test]
    public void IdentityIsReadFromEachDisseminatedKind()
    {
        var key = GossipMessages.Key(3);
        Assert.That(MessageIdentity.TryRead(GossipMessages.Block(42), out var block), Is.EqualTo(IdentityError.None));
        Assert.That((block.Kind, block.Sequence, block.Channel.SequenceEqual(ChannelBytes)), Is.EqualTo((MessageKind.Block, 42UL, true)));

        Assert.That(MessageIdentity.TryRead(GossipMessages.Alive(key, 5, 9), out var alive), Is.EqualTo(IdentityError.None));
        Assert.That((alive.Kind, alive.Time, alive.Origin.SequenceEqual(key)), Is.EqualTo((MessageKind.Alive, new PeerTime(5, 9), true)));

        Assert.That(MessageIdentity.TryRead(GossipMessages.StateInfo(key, 2, 3), out var state), Is.EqualTo(IdentityError.None));
        Assert.That((state.Kind, state.Time), Is.EqualTo((MessageKind.StateInfo, new PeerTime(2, 3))));

        Assert.That(MessageIdentity.TryRead(GossipMessages.Leadership(key, 4, 1), out var leader), Is.EqualTo(IdentityError.None));
        Assert.That((leader.Kind, leader.Time), Is.EqualTo((MessageKind.Leadership, new PeerTime(4, 1))));

        Assert.That(MessageIdentity.TryRead([0x0A, 0x05, 0x01], out _), Is.EqualTo(IdentityError.Malformed));
    }

    [Test]
    public void DigestRoundTrips()
    {
        var key = GossipMessages.Key(9);
        var id = MessageId.ForPeer(MessageKind.StateInfo, ChannelBytes, key, new PeerTime(7, 8));
        var digest = new byte[id.DigestLength];
        id.WriteDigest(digest);
        Assert.That(MessageId.TryParseDigest(digest, out var back), Is.True);
        Assert.That(back.SameIdentity(in id) && back.Time == id.Time, Is.True);
        Assert.That(MessageId.TryParseDigest(digest.AsSpan(0, 10), out _), Is.False);
        digest[0] = 99;
        Assert.That(MessageId.TryParseDigest(digest, out _), Is.False);
    }

    [Test]
    public void BlocksAreDeduplicatedBySequence()
    {
        var store = NewStore(new ManualTimeProvider());
        Assert.That(AddEnvelope(store, GossipMessages.Block(1)), Is.EqualTo(StoreResult.Added));
        Assert.That(AddEnvelope(store, GossipMessages.Block(1)), Is.EqualTo(StoreResult.Duplicate));
        Assert.That(AddEnvelope(store, GossipMessages.Block(2)), Is.EqualTo(StoreResult.Added));
        Assert.That(AddEnvelope(store, GossipMessages.Block(1, channel: "other")), Is.EqualTo(StoreResult.Added));
        Assert.That(store.Count, Is.EqualTo(3));
        var id = MessageId.ForBlock(ChannelBytes, 2);
        Assert.That(store.Check(in id), Is.EqualTo(SeenResult.Duplicate));
        var missing = MessageId.ForBlock(ChannelBytes, 3);
        Assert.That(store.Check(in missing), Is.EqualTo(SeenResult.New));
    }

    [Test]
    public void NewerPeerTimeReplacesOlderAndOlderIsStale()
    {
        var store = NewStore(new ManualTimeProvider());
        var key = GossipMessages.Key(1);
        Assert.That(AddEnvelope(store, GossipMessages.Alive(key, 1, 5)), Is.EqualTo(StoreResult.Added));
        Assert.That(AddEnvelope(store, GossipMessages.Alive(key, 1, 5)), Is.EqualTo(StoreResult.Duplicate));
        Assert.That(AddEnvelope(store, GossipMessages.Alive(key, 1, 4)), Is.EqualTo(StoreResult.Stale));
        Assert.That(AddEnvelope(store, GossipMessages.Alive(key, 1, 6)), Is.EqualTo(StoreResult.Replaced));
        Assert.That(AddEnvelope(store, GossipMessages.Alive(key, 2, 0)), Is.EqualTo(StoreResult.Replaced), "a new incarnation wins with a lower seq");
        Assert.That(AddEnvelope(store, GossipMessages.Alive(key, 1, 99)), Is.EqualTo(StoreResult.Stale));
        Assert.That(store.Count, Is.EqualTo(1));

        // The same peer's state info and leadership are other identities.
        Assert.That(AddEnvelope(store, GossipMessages.StateInfo(key, 1, 1)), Is.EqualTo(StoreResult.Added));
        Assert.That(AddEnvelope(store, GossipMessages.Leadership(key, 1, 1)), Is.EqualTo(StoreResult.Added));
        Assert.That(store.Count, Is.EqualTo(3));

        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        var old = MessageId.ForPeer(MessageKind.Alive, default, key, new PeerTime(1, 6));
        Assert.That(store.TryCopy(in old, buffer), Is.False, "a replaced version is no longer held");
        var current = MessageId.ForPeer(MessageKind.Alive, default, key, new PeerTime(2, 0));
        Assert.That(store.TryCopy(in current, buffer), Is.True);
        Assert.That(buffer.WrittenSpan.SequenceEqual(GossipMessages.Alive(key, 2, 0)), Is.True);
    }

    [Test]
    public void MessagesExpireAfterTheirTimeToLive()
    {
        var time = new ManualTimeProvider();
        var store = NewStore(time, ttlSeconds: 10);
        AddEnvelope(store, GossipMessages.Block(1));
        time.Advance(TimeSpan.FromSeconds(6));
        AddEnvelope(store, GossipMessages.Block(2));
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.That(store.Sweep(), Is.EqualTo(1));
        Assert.That(store.Count, Is.EqualTo(1));
        Assert.That(AddEnvelope(store, GossipMessages.Block(1)), Is.EqualTo(StoreResult.Added), "an expired message is new again");
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.That(store.Sweep(), Is.EqualTo(2));
        Assert.That((store.Count, store.Bytes), Is.EqualTo((0, 0L)));
        Assert.That(store.GetStatistics().Expired, Is.EqualTo(3));
    }

    [Test]
    public void EntryAndByteBoundsHoldUnderALongFlood()
    {
        var time = new ManualTimeProvider();
        var store = NewStore(time, maxEntries: 512, maxBytes: 64 * 1024, ttlSeconds: 30, shards: 4);
        var random = new Random(3);
        var keys = Enumerable.Range(0, 300).Select(GossipMessages.Key).ToArray();
        ulong seq = 0;
        for (int round = 0; round < 20_000; round++)
        {
            byte[] envelope = (round % 3) switch
            {
                0 => GossipMessages.Block(seq++, dataBytes: random.Next(1, 600)),
                1 => GossipMessages.Alive(keys[random.Next(keys.Length)], 1, (ulong)round),
                _ => GossipMessages.StateInfo(keys[random.Next(keys.Length)], 1, (ulong)random.Next(1000)),
            };
            AddEnvelope(store, envelope);
            Assert.That(store.Count, Is.LessThanOrEqualTo(store.MaxEntries));
            Assert.That(store.Bytes, Is.LessThanOrEqualTo(store.MaxBytes));
            if (round % 100 == 0)
            {
                time.Advance(TimeSpan.FromSeconds(1));
            }
        }

        var stats = store.GetStatistics();
        Assert.That(stats.EvictedForBytes + stats.EvictedForEntries, Is.GreaterThan(0));
        time.Advance(TimeSpan.FromSeconds(31));
        store.Sweep();
        Assert.That((store.Count, store.Bytes), Is.EqualTo((0, 0L)), "everything expires: nothing leaks");
    }

    [Test]
    public void ConcurrentAddsOfTheSameMessagesAddEachExactlyOnce()
    {
        var store = NewStore(new ManualTimeProvider(), maxEntries: 100_000, maxBytes: 64L << 20);
        var envelopes = Enumerable.Range(0, 2000).Select(i => GossipMessages.Block((ulong)i)).ToArray();
        long added = 0;
        Parallel.For(0, 4, _ =>
        {
            foreach (var envelope in envelopes)
            {
                if (AddEnvelope(store, envelope) == StoreResult.Added)
                {
                    Interlocked.Increment(ref added);
                }
            }
        });
        Assert.That(added, Is.EqualTo(envelopes.Length));
        Assert.That(store.GetStatistics().Duplicates, Is.EqualTo(3 * envelopes.Length));
    }

    [Test]
    public void OversizedOrInvalidMessagesAreRefused()
    {
        var store = NewStore(new ManualTimeProvider(), maxEntries: 16, maxBytes: 4096, shards: 1);
        Assert.That(AddEnvelope(store, GossipMessages.Block(1, dataBytes: 5000)), Is.EqualTo(StoreResult.TooLarge));
        var noOrigin = MessageId.ForPeer(MessageKind.Alive, default, default, new PeerTime(1, 1));
        Assert.That(store.Add(in noOrigin, [1, 2, 3]), Is.EqualTo(StoreResult.Invalid));
        Assert.That(store.Count, Is.Zero);
    }
}
