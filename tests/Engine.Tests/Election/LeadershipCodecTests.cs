using Engine.Election;
using Engine.Protocol;
using Google.Protobuf;

namespace Engine.Tests.Election;

[TestFixture]
public sealed class LeadershipCodecTests
{
    [TestCase(true, 1_700_000_000_123_456_789UL, 42UL)]
    [TestCase(false, 0UL, 0UL)]
    [TestCase(true, ulong.MaxValue, 1UL)]
    public void Encoding_IsByteIdenticalToGoogleProtobuf_AndReadsBack(bool declaration, ulong inc, ulong seq)
    {
        byte[] pki = Enumerable.Range(0, 32).Select(i => (byte)(i * 7)).ToArray();
        byte[] channel = "mychannel"u8.ToArray();
        var expected = new Envelope
        {
            Payload = new GossipMessage
            {
                Channel = ByteString.CopyFrom(channel),
                Tag = GossipMessage.Types.Tag.ChanAndOrg,
                LeadershipMsg = new LeadershipMessage { PkiId = ByteString.CopyFrom(pki), Timestamp = new PeerTime { IncNum = inc, SeqNum = seq }, IsDeclaration = declaration },
            }.ToByteString(),
            Signature = ByteString.CopyFrom(new byte[] { 9, 8, 7 }),
        }.ToByteArray();

        var fields = new LeadershipFields { PkiId = pki, IncNum = inc, SeqNum = seq, IsDeclaration = declaration };
        var buffer = new byte[LeadershipCodec.EnvelopeSize(channel, fields, 3)];
        int written = LeadershipCodec.WritePayload(buffer, channel, fields, out var payload);
        written = LeadershipCodec.WriteSignature(buffer, written, [9, 8, 7]);

        Assert.That(written, Is.EqualTo(buffer.Length));
        Assert.That(buffer, Is.EqualTo(expected));
        Assert.That(buffer[payload], Is.EqualTo(Envelope.Parser.ParseFrom(expected).Payload.ToByteArray()), "the payload range is what gets signed");
        Assert.That(LeadershipCodec.TryParseEnvelope(buffer, out var readChannel, out var read), Is.True);
        Assert.That(readChannel.ToArray(), Is.EqualTo(channel));
        Assert.That(read.PkiId.ToArray(), Is.EqualTo(pki));
        Assert.That((read.IncNum, read.SeqNum, read.IsDeclaration), Is.EqualTo((inc, seq, declaration)));
    }

    [Test]
    public void MalformedOrForeignEnvelopes_AreNotLeadership()
    {
        var alive = new Envelope { Payload = new GossipMessage { AliveMsg = new AliveMessage() }.ToByteString() }.ToByteArray();
        var noPki = new Envelope { Payload = new GossipMessage { LeadershipMsg = new LeadershipMessage { IsDeclaration = true } }.ToByteString() }.ToByteArray();
        Assert.That(LeadershipCodec.TryParseEnvelope(alive, out _, out _), Is.False);
        Assert.That(LeadershipCodec.TryParseEnvelope(noPki, out _, out _), Is.False);
        Assert.That(LeadershipCodec.TryParseEnvelope([0x0A, 0x7F, 0x00], out _, out _), Is.False);
    }
}
