using Engine.Gossip;
using Engine.Protocol;
using Google.Protobuf;

namespace Engine.Tests.Protocol;

/// <summary>The AppData span codec against the generated classes, and its identity in the message store's terms.</summary>
public sealed class AppDataCodecTests
{
    // AppData{pki_id = 01 02 03, timestamp = {inc 1,000,000, seq 5}, data = "hi"}: 0A 03 01 02 03 | 12 06 08 C0 84 3D 10 05 | 1A 02 'h' 'i'
    // GossipMessage{tag = EMPTY, app_data (100)}: 18 01 | A2 06 11 <app data>
    // Envelope{payload}: 0A 16 <gossip message>
    private static readonly byte[] Golden =
    [
        0x0A, 0x16,
        0x18, 0x01,
        0xA2, 0x06, 0x11,
        0x0A, 0x03, 0x01, 0x02, 0x03,
        0x12, 0x06, 0x08, 0xC0, 0x84, 0x3D, 0x10, 0x05,
        0x1A, 0x02, (byte)'h', (byte)'i',
    ];

    [Test]
    public void WritesTheBytesGoogleProtobufWrites_AndReadsThemBack()
    {
        var fields = new AppDataFields { PkiId = [1, 2, 3], IncNum = 1_000_000, SeqNum = 5, Data = "hi"u8 };
        var buffer = new byte[AppDataCodec.EnvelopeSize(fields)];
        int written = AppDataCodec.Write(buffer, fields);
        Assert.That(buffer.AsSpan(0, written).ToArray(), Is.EqualTo(Golden));

        var generated = new Envelope
        {
            Payload = new GossipMessage
            {
                Tag = GossipMessage.Types.Tag.Empty,
                AppData = new AppData { PkiId = ByteString.CopyFrom(1, 2, 3), Timestamp = new PeerTime { IncNum = 1_000_000, SeqNum = 5 }, Data = ByteString.CopyFromUtf8("hi") },
            }.ToByteString(),
        };
        Assert.That(generated.ToByteArray(), Is.EqualTo(Golden));

        Assert.That(EnvelopeView.TryParse(Golden, out var view), Is.True);
        Assert.That(view.ContentField, Is.EqualTo(EnvelopeView.AppDataContent));
        Assert.That(AppDataCodec.TryParse(view.Content, out var read), Is.True);
        Assert.That((read.PkiId.ToArray(), read.IncNum, read.SeqNum, read.Data.ToArray()), Is.EqualTo((new byte[] { 1, 2, 3 }, 1_000_000UL, 5UL, "hi"u8.ToArray())));
    }

    [Test]
    public void IdentityIsPublisherIncarnationAndSequence_NeverReplaced()
    {
        Assert.That(MessageIdentity.TryRead(Golden, out var id), Is.EqualTo(IdentityError.None));
        Assert.That((id.Kind, id.IsVersioned, id.Time.IncNum, id.Time.SeqNum), Is.EqualTo((MessageKind.AppData, false, 1_000_000UL, 5UL)));

        var store = new MessageStore(new MessageStoreOptions(), TimeProvider.System, new Random(1));
        Assert.That(store.Add(in id, Golden), Is.EqualTo(StoreResult.Added));
        Assert.That(store.Add(in id, Golden), Is.EqualTo(StoreResult.Duplicate));
        foreach (var (inc, seq) in new[] { (1_000_000UL, 6UL), (1_000_001UL, 5UL), (999_999UL, 4UL) })
        {
            var other = MessageId.ForAppData([1, 2, 3], inc, seq);
            Assert.That(store.Check(in other), Is.EqualTo(SeenResult.New), $"({inc}, {seq}) is another message, neither newer nor older");
            Assert.That(store.Add(in other, Golden), Is.EqualTo(StoreResult.Added));
        }

        Assert.That(store.Count, Is.EqualTo(4));
        var digest = new byte[id.DigestLength];
        id.WriteDigest(digest);
        Assert.That(MessageId.TryParseDigest(digest, out var parsed) && parsed.SameIdentity(in id), Is.True);
    }
}
