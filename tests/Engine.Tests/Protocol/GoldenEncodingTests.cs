using Engine.Protocol;
using Google.Protobuf;

namespace Engine.Tests.Protocol;

/// <summary>
/// Hand-written byte vectors pin the wire encoding to Fabric's field numbers and types: each decodes to the expected fields
/// through the generated classes and re-encodes to the same bytes. The alive envelope is also checked against Engine's
/// allocation-free codec in both directions.
/// </summary>
public sealed class GoldenEncodingTests
{
    // PeerTime{inc_num = 1,000,000, seq_num = 5}: 08 C0 84 3D | 10 05
    // Member{endpoint = "127.0.0.1:7051", pki_id = 01 02 03 04}: 0A 0E "127.0.0.1:7051" | 1A 04 01 02 03 04
    // AliveMessage{membership = 1, timestamp = 2}: 0A 16 <member> | 12 06 <peer time>
    // GossipMessage{tag = EMPTY (3), alive_msg (5)}: 18 01 | 2A 20 <alive>
    // Envelope{payload = 1, signature = 2}: 0A 24 <gossip message> | 12 03 AA BB CC
    private static readonly byte[] AliveEnvelopeBytes =
    [
        0x0A, 0x24,
        0x18, 0x01,
        0x2A, 0x20,
        0x0A, 0x16,
        0x0A, 0x0E, (byte)'1', (byte)'2', (byte)'7', (byte)'.', (byte)'0', (byte)'.', (byte)'0', (byte)'.', (byte)'1', (byte)':', (byte)'7', (byte)'0', (byte)'5', (byte)'1',
        0x1A, 0x04, 0x01, 0x02, 0x03, 0x04,
        0x12, 0x06,
        0x08, 0xC0, 0x84, 0x3D,
        0x10, 0x05,
        0x12, 0x03, 0xAA, 0xBB, 0xCC,
    ];

    // GossipMessage{channel = "mychannel" (2), tag = CHAN_AND_ORG (3), hello (9) = GossipHello{nonce = 300, msg_type = BLOCK_MSG}}
    private static readonly byte[] HelloBytes =
    [
        0x12, 0x09, (byte)'m', (byte)'y', (byte)'c', (byte)'h', (byte)'a', (byte)'n', (byte)'n', (byte)'e', (byte)'l',
        0x18, 0x04,
        0x4A, 0x05,
        0x08, 0xAC, 0x02,
        0x18, 0x01,
    ];

    // GossipMessage{tag = CHAN_AND_ORG, data_dig (10) = DataDigest{nonce = 300, digests = ["1", "2"], msg_type = BLOCK_MSG}}
    private static readonly byte[] DigestBytes =
    [
        0x18, 0x04,
        0x52, 0x0B,
        0x08, 0xAC, 0x02,
        0x12, 0x01, (byte)'1',
        0x12, 0x01, (byte)'2',
        0x18, 0x01,
    ];

    // GossipMessage{tag = CHAN_AND_ORG, data_update (12) = DataUpdate{nonce = 300, data = [Envelope{payload =
    //   GossipMessage{tag = CHAN_AND_ORG, data_msg (8) = DataMessage{payload = Payload{seq_num = 1, data = DE AD}}}}],
    //   msg_type = BLOCK_MSG}}
    private static readonly byte[] UpdateBytes =
    [
        0x18, 0x04,
        0x62, 0x15,
        0x08, 0xAC, 0x02,
        0x12, 0x0E,
        0x0A, 0x0C,
        0x18, 0x04,
        0x42, 0x08,
        0x0A, 0x06,
        0x08, 0x01,
        0x12, 0x02, 0xDE, 0xAD,
        0x18, 0x01,
    ];

    private static readonly string[] ExpectedDigests = ["1", "2"];

    [Test]
    public void AliveEnvelopeDecodesToExpectedFieldsAndReencodesIdentically()
    {
        var envelope = Envelope.Parser.ParseFrom(AliveEnvelopeBytes);
        Assert.That(envelope.Signature.ToByteArray(), Is.EqualTo(new byte[] { 0xAA, 0xBB, 0xCC }));
        var message = GossipMessage.Parser.ParseFrom(envelope.Payload);
        Assert.Multiple(() =>
        {
            Assert.That(message.Tag, Is.EqualTo(GossipMessage.Types.Tag.Empty));
            Assert.That(message.ContentCase, Is.EqualTo(GossipMessage.ContentOneofCase.AliveMsg));
            Assert.That(message.AliveMsg.Membership.Endpoint, Is.EqualTo("127.0.0.1:7051"));
            Assert.That(message.AliveMsg.Membership.PkiId.ToByteArray(), Is.EqualTo(new byte[] { 1, 2, 3, 4 }));
            Assert.That(message.AliveMsg.Timestamp.IncNum, Is.EqualTo(1_000_000UL));
            Assert.That(message.AliveMsg.Timestamp.SeqNum, Is.EqualTo(5UL));
        });
        Assert.That(envelope.ToByteArray(), Is.EqualTo(AliveEnvelopeBytes));

        var rebuilt = new Envelope
        {
            Payload = new GossipMessage
            {
                Tag = GossipMessage.Types.Tag.Empty,
                AliveMsg = new AliveMessage
                {
                    Membership = new Member { Endpoint = "127.0.0.1:7051", PkiId = ByteString.CopyFrom(1, 2, 3, 4) },
                    Timestamp = new PeerTime { IncNum = 1_000_000, SeqNum = 5 },
                },
            }.ToByteString(),
            Signature = ByteString.CopyFrom(0xAA, 0xBB, 0xCC),
        };
        Assert.That(rebuilt.ToByteArray(), Is.EqualTo(AliveEnvelopeBytes));
    }

    [Test]
    public void SpanCodecWritesTheGoldenAliveEnvelope()
    {
        var buffer = new byte[128];
        var fields = new AliveFields { PkiId = [1, 2, 3, 4], Endpoint = "127.0.0.1:7051"u8, IncNum = 1_000_000, SeqNum = 5 };
        int length = AliveCodec.Write(buffer, fields, [0xAA, 0xBB, 0xCC]);
        Assert.That(length, Is.EqualTo(AliveCodec.EnvelopeSize(fields, 3)));
        Assert.That(buffer.AsSpan(0, length).ToArray(), Is.EqualTo(AliveEnvelopeBytes));
    }

    [Test]
    public void SpanCodecReadsTheGoldenAliveEnvelope()
    {
        Assert.That(EnvelopeView.TryParse(AliveEnvelopeBytes, out var view), Is.True);
        Assert.That(view.ContentField, Is.EqualTo(EnvelopeView.AliveContent));
        Assert.That(view.Tag, Is.EqualTo(GossipMessage.Types.Tag.Empty));
        Assert.That(view.Signature.ToArray(), Is.EqualTo(new byte[] { 0xAA, 0xBB, 0xCC }));
        Assert.That(view.Payload.ToArray(), Is.EqualTo(AliveEnvelopeBytes.AsSpan(2, 0x24).ToArray()));
        Assert.That(AliveCodec.TryParse(view.Content, out var alive), Is.True);
        Assert.That(alive.Endpoint.ToArray(), Is.EqualTo("127.0.0.1:7051"u8.ToArray()));
        Assert.That(alive.PkiId.ToArray(), Is.EqualTo(new byte[] { 1, 2, 3, 4 }));
        Assert.That(alive.IncNum, Is.EqualTo(1_000_000UL));
        Assert.That(alive.SeqNum, Is.EqualTo(5UL));
        Assert.That(alive.Identity.IsEmpty, Is.True);
    }

    [Test]
    public void GossipHelloDecodesAndReencodes()
    {
        var message = GossipMessage.Parser.ParseFrom(HelloBytes);
        Assert.Multiple(() =>
        {
            Assert.That(message.Channel.ToStringUtf8(), Is.EqualTo("mychannel"));
            Assert.That(message.Tag, Is.EqualTo(GossipMessage.Types.Tag.ChanAndOrg));
            Assert.That(message.ContentCase, Is.EqualTo(GossipMessage.ContentOneofCase.Hello));
            Assert.That(message.Hello.Nonce, Is.EqualTo(300UL));
            Assert.That(message.Hello.MsgType, Is.EqualTo(PullMsgType.BlockMsg));
            Assert.That(message.Hello.Metadata.IsEmpty, Is.True);
        });
        Assert.That(message.ToByteArray(), Is.EqualTo(HelloBytes));
    }

    [Test]
    public void DataDigestDecodesAndReencodes()
    {
        var message = GossipMessage.Parser.ParseFrom(DigestBytes);
        Assert.That(message.ContentCase, Is.EqualTo(GossipMessage.ContentOneofCase.DataDig));
        Assert.That(message.DataDig.Nonce, Is.EqualTo(300UL));
        Assert.That(message.DataDig.Digests.Select(d => d.ToStringUtf8()), Is.EqualTo(ExpectedDigests));
        Assert.That(message.DataDig.MsgType, Is.EqualTo(PullMsgType.BlockMsg));
        Assert.That(message.ToByteArray(), Is.EqualTo(DigestBytes));
    }

    [Test]
    public void DataUpdateDecodesAndReencodes()
    {
        var message = GossipMessage.Parser.ParseFrom(UpdateBytes);
        Assert.That(message.ContentCase, Is.EqualTo(GossipMessage.ContentOneofCase.DataUpdate));
        Assert.That(message.DataUpdate.Nonce, Is.EqualTo(300UL));
        Assert.That(message.DataUpdate.MsgType, Is.EqualTo(PullMsgType.BlockMsg));
        Assert.That(message.DataUpdate.Data, Has.Count.EqualTo(1));
        var inner = GossipMessage.Parser.ParseFrom(message.DataUpdate.Data[0].Payload);
        Assert.That(inner.Tag, Is.EqualTo(GossipMessage.Types.Tag.ChanAndOrg));
        Assert.That(inner.DataMsg.Payload.SeqNum, Is.EqualTo(1UL));
        Assert.That(inner.DataMsg.Payload.Data.ToByteArray(), Is.EqualTo(new byte[] { 0xDE, 0xAD }));
        Assert.That(message.ToByteArray(), Is.EqualTo(UpdateBytes));
    }

    [Test]
    public void FieldNumbersMatchFabric()
    {
        Assert.Multiple(() =>
        {
            Assert.That(GossipMessage.AliveMsgFieldNumber, Is.EqualTo(5));
            Assert.That(GossipMessage.MemReqFieldNumber, Is.EqualTo(6));
            Assert.That(GossipMessage.MemResFieldNumber, Is.EqualTo(7));
            Assert.That(GossipMessage.DataMsgFieldNumber, Is.EqualTo(8));
            Assert.That(GossipMessage.HelloFieldNumber, Is.EqualTo(9));
            Assert.That(GossipMessage.DataDigFieldNumber, Is.EqualTo(10));
            Assert.That(GossipMessage.DataReqFieldNumber, Is.EqualTo(11));
            Assert.That(GossipMessage.DataUpdateFieldNumber, Is.EqualTo(12));
            Assert.That(GossipMessage.EmptyFieldNumber, Is.EqualTo(13));
            Assert.That(GossipMessage.ConnFieldNumber, Is.EqualTo(14));
            Assert.That(GossipMessage.StateInfoFieldNumber, Is.EqualTo(15));
            Assert.That(GossipMessage.StateSnapshotFieldNumber, Is.EqualTo(16));
            Assert.That(GossipMessage.StateInfoPullReqFieldNumber, Is.EqualTo(17));
            Assert.That(GossipMessage.LeadershipMsgFieldNumber, Is.EqualTo(20));
            Assert.That(GossipMessage.PeerIdentityFieldNumber, Is.EqualTo(21));
            Assert.That(GossipMessage.AckFieldNumber, Is.EqualTo(22));
            Assert.That(AliveMessage.IdentityFieldNumber, Is.EqualTo(4));
            Assert.That(StateInfo.TimestampFieldNumber, Is.EqualTo(2));
            Assert.That(StateInfo.PropertiesFieldNumber, Is.EqualTo(5));
            Assert.That(ConnEstablish.ProbeFieldNumber, Is.EqualTo(4));
            Assert.That(LeadershipMessage.IsDeclarationFieldNumber, Is.EqualTo(3));
            Assert.That(EnvelopeView.AliveContent, Is.EqualTo(GossipMessage.AliveMsgFieldNumber));
            Assert.That(EnvelopeView.LeadershipContent, Is.EqualTo(GossipMessage.LeadershipMsgFieldNumber));
        });
    }
}
