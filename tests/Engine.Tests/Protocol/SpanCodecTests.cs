using Engine.Protocol;
using Google.Protobuf;

namespace Engine.Tests.Protocol;

public sealed class SpanCodecTests
{
    [Test]
    public void RandomAliveMessagesRoundTripAgainstGeneratedClasses()
    {
        var random = new Random(1234);
        var buffer = new byte[4096];
        for (int i = 0; i < 500; i++)
        {
            var pki = new byte[random.Next(0, 40)];
            random.NextBytes(pki);
            var metadata = new byte[random.Next(0, 20)];
            random.NextBytes(metadata);
            var identity = new byte[random.Next(0, 600)];
            random.NextBytes(identity);
            var signature = new byte[random.Next(0, 80)];
            random.NextBytes(signature);
            string endpoint = $"10.0.{random.Next(256)}.{random.Next(256)}:{random.Next(1, 65536)}";
            ulong inc = (ulong)random.NextInt64() * (ulong)random.Next(0, 3);
            ulong seq = (ulong)random.Next(0, 3) * (ulong)random.NextInt64();

            var fields = new AliveFields
            {
                PkiId = pki,
                Endpoint = System.Text.Encoding.UTF8.GetBytes(endpoint),
                Metadata = metadata,
                IncNum = inc,
                SeqNum = seq,
                Identity = identity,
            };
            int length = AliveCodec.Write(buffer, fields, signature);

            var expected = new Envelope
            {
                Payload = new GossipMessage
                {
                    Tag = GossipMessage.Types.Tag.Empty,
                    AliveMsg = new AliveMessage
                    {
                        Membership = new Member { Endpoint = endpoint, Metadata = ByteString.CopyFrom(metadata), PkiId = ByteString.CopyFrom(pki) },
                        Timestamp = new PeerTime { IncNum = inc, SeqNum = seq },
                        Identity = ByteString.CopyFrom(identity),
                    },
                }.ToByteString(),
                Signature = ByteString.CopyFrom(signature),
            }.ToByteArray();
            Assert.That(buffer.AsSpan(0, length).ToArray(), Is.EqualTo(expected), $"iteration {i}");

            Assert.That(EnvelopeView.TryParse(expected, out var view), Is.True);
            Assert.That(AliveCodec.TryParse(view.Content, out var parsed), Is.True);
            Assert.That(parsed.IncNum, Is.EqualTo(inc));
            Assert.That(parsed.SeqNum, Is.EqualTo(seq));
            Assert.That(parsed.PkiId.SequenceEqual(pki), Is.True);
            Assert.That(parsed.Identity.SequenceEqual(identity), Is.True);
            Assert.That(view.Signature.SequenceEqual(signature), Is.True);
        }
    }

    [Test]
    public void MalformedInputIsRejectedNotThrown()
    {
        var random = new Random(99);
        var buffer = new byte[64];
        int accepted = 0;
        for (int i = 0; i < 20_000; i++)
        {
            random.NextBytes(buffer);
            var span = buffer.AsSpan(0, random.Next(0, buffer.Length));
            if (EnvelopeView.TryParse(span, out var view) && AliveCodec.TryParse(view.Content, out _))
            {
                accepted++;
            }
        }

        // Some random inputs are valid protobuf by chance; the point is that none throws.
        Assert.That(accepted, Is.LessThan(20_000));
    }

    [TestCase(new byte[] { 0x0A, 0x05, 0x01 }, TestName = "Length beyond the end")]
    [TestCase(new byte[] { 0x0B }, TestName = "Group wire type")]
    [TestCase(new byte[] { 0x00 }, TestName = "Field number zero")]
    [TestCase(new byte[] { 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F }, TestName = "Varint over 64 bits")]
    [TestCase(new byte[] { 0x0A, 0x02, 0x18, 0x09 }, TestName = "Tag value out of range")]
    public void SpecificMalformedEnvelopesAreRejected(byte[] input) =>
        Assert.That(EnvelopeView.TryParse(input, out _), Is.False);

    [Test]
    public void BatchPacksRecordsUntilFullAndReadsThemBack()
    {
        var body = new byte[100];
        int written = 0;
        var envelope = new byte[30];
        int count = 0;
        while (EnvelopeBatch.TryAppend(body, ref written, envelope))
        {
            count++;
        }

        Assert.That(count, Is.EqualTo(3)); // 3 × 31 = 93; a fourth would need 124
        var reader = new EnvelopeBatch.Reader(body.AsSpan(0, written));
        int read = 0;
        while (reader.TryRead(out var record))
        {
            Assert.That(record.Length, Is.EqualTo(30));
            read++;
        }

        Assert.That(read, Is.EqualTo(3));
        Assert.That(reader.Malformed, Is.False);
    }

    [Test]
    public void BatchReaderFlagsATruncatedRecord()
    {
        var reader = new EnvelopeBatch.Reader([0x05, 0x01, 0x02]);
        Assert.That(reader.TryRead(out _), Is.False);
        Assert.That(reader.Malformed, Is.True);
    }
}
