using Engine.Discovery;
using Engine.Protocol;
using Google.Protobuf;
using MemberState = Engine.Membership.MemberState;
using PeerTime = Engine.Membership.PeerTime;

namespace Engine.Tests.Protocol;

/// <summary>The SWIM message codec: what is written reads back, news items in order, and bad input is refused.</summary>
public sealed class SwimCodecTests
{
    private static readonly byte[] Identity = OrgIdentity.Encode("Org1");

    private static AliveFields Alive(byte id, ulong seq) => new()
    {
        PkiId = Enumerable.Repeat(id, 32).ToArray(),
        Endpoint = "10.0.0.1:7051"u8.ToArray(),
        IncNum = 1_700_000_000_000_000_000,
        SeqNum = seq,
        Identity = Identity,
    };

    [Test]
    public void PingReqWithNews_RoundTrips()
    {
        var body = new byte[1388];
        var sender = Alive(1, 0);
        var senderBytes = new byte[AliveCodec.MessageSize(sender)];
        AliveCodec.WriteMessage(senderBytes, sender);
        int position = SwimCodec.WriteHead(body, SwimKind.PingReq, 77, senderBytes, Enumerable.Repeat((byte)9, 32).ToArray(), "10.0.0.9:7051"u8, "10.0.0.3:7051"u8, 5);
        Assert.That(SwimCodec.TryAppendVerdict(body, ref position, Enumerable.Repeat((byte)2, 32).ToArray(), MemberState.Suspect, new PeerTime(3, 4)), Is.True);
        Assert.That(SwimCodec.TryAppendAlive(body, ref position, Alive(3, 6)), Is.True);
        Assert.That(SwimCodec.TryAppendVerdict(body, ref position, Enumerable.Repeat((byte)4, 32).ToArray(), MemberState.Dead, new PeerTime(5, 0)), Is.True);

        var envelope = new byte[SwimCodec.EnvelopeSize(position)];
        Assert.That(SwimCodec.WriteEnvelope(envelope, body.AsSpan(0, position)), Is.EqualTo(envelope.Length));
        Assert.That(EnvelopeView.TryParse(envelope, out var view), Is.True);
        Assert.That(view.ContentField, Is.EqualTo(EnvelopeView.SwimContent));
        Assert.That(SwimCodec.TryParse(view.Content, out var swim), Is.True);
        var head = (swim.Kind, swim.ProbeId, swim.Sender.ToArray(), swim.TargetPkiId.ToArray(), System.Text.Encoding.UTF8.GetString(swim.TargetEndpoint),
            System.Text.Encoding.UTF8.GetString(swim.ReplyTo), swim.ReplyProbeId);
        Assert.That(head, Is.EqualTo((SwimKind.PingReq, 77UL, senderBytes, Enumerable.Repeat((byte)9, 32).ToArray(), "10.0.0.9:7051", "10.0.0.3:7051", 5UL)));

        var reader = new SwimCodec.NewsReader(swim.Body);
        Assert.That(reader.TryRead(out var first), Is.True);
        Assert.That((first.State, first.PkiId[0], first.Time), Is.EqualTo((MemberState.Suspect, (byte)2, new PeerTime(3, 4))));
        Assert.That(reader.TryRead(out var second), Is.True);
        Assert.That(second.State, Is.EqualTo(MemberState.Alive));
        Assert.That(AliveCodec.TryParse(second.Alive, out var alive), Is.True);
        Assert.That((alive.PkiId[0], alive.SeqNum), Is.EqualTo(((byte)3, 6UL)));
        Assert.That(reader.TryRead(out var third), Is.True);
        Assert.That((third.State, third.Time), Is.EqualTo((MemberState.Dead, new PeerTime(5, 0))));
        Assert.That(reader.TryRead(out _), Is.False);
        Assert.That(reader.Malformed, Is.False);
    }

    [Test]
    public void TheHandWrittenEncoding_IsTheSwimMessageOfGossipProto()
    {
        var body = new byte[1388];
        var sender = Alive(1, 0);
        var senderBytes = new byte[AliveCodec.MessageSize(sender)];
        AliveCodec.WriteMessage(senderBytes, sender);
        int position = SwimCodec.WriteHead(body, SwimKind.PingReq, 77, senderBytes, Enumerable.Repeat((byte)9, 32).ToArray(), "10.0.0.9:7051"u8, "10.0.0.3:7051"u8, 5);
        Assert.That(SwimCodec.TryAppendVerdict(body, ref position, Enumerable.Repeat((byte)2, 32).ToArray(), MemberState.Suspect, new PeerTime(3, 4)), Is.True);
        Assert.That(SwimCodec.TryAppendAlive(body, ref position, Alive(3, 6)), Is.True);
        var envelope = new byte[SwimCodec.EnvelopeSize(position)];
        SwimCodec.WriteEnvelope(envelope, body.AsSpan(0, position));

        var decoded = GossipMessage.Parser.ParseFrom(Envelope.Parser.ParseFrom(envelope).Payload);
        Assert.That(decoded.ContentCase, Is.EqualTo(GossipMessage.ContentOneofCase.Swim));
        var swim = decoded.Swim;
        Assert.That((swim.Kind, swim.ProbeId, swim.TargetEndpoint, swim.ReplyTo, swim.ReplyProbeId),
            Is.EqualTo((SwimMessage.Types.Kind.PingReq, 77UL, "10.0.0.9:7051", "10.0.0.3:7051", 5UL)));
        Assert.That(swim.Sender.Timestamp.IncNum, Is.EqualTo(1_700_000_000_000_000_000UL));
        Assert.That(swim.TargetPkiId.ToByteArray(), Is.EqualTo(Enumerable.Repeat((byte)9, 32).ToArray()));
        Assert.That(swim.News, Has.Count.EqualTo(2));
        Assert.That((swim.News[0].State, swim.News[0].PkiId[0], swim.News[0].Timestamp.IncNum, swim.News[0].Timestamp.SeqNum), Is.EqualTo((1u, (byte)2, 3UL, 4UL)));
        Assert.That((swim.News[1].State, swim.News[1].Alive.Timestamp.SeqNum, swim.News[1].Alive.Membership.PkiId[0]), Is.EqualTo((0u, 6UL, (byte)3)));
        Assert.That(decoded.ToByteArray(), Is.EqualTo(Envelope.Parser.ParseFrom(envelope).Payload.ToByteArray()), "Google.Protobuf re-encodes the same bytes");
    }

    [Test]
    public void NewsThatDoesNotFit_IsRefused_AndTheBodyStaysValid()
    {
        var body = new byte[120];
        int position = SwimCodec.WriteHead(body, SwimKind.Ack, 1, default, default, default, default, 0);
        int appended = 0;
        while (SwimCodec.TryAppendAlive(body, ref position, Alive((byte)appended, 1)))
        {
            appended++;
        }

        Assert.That(appended, Is.EqualTo(1), "one ~80-byte alive item fits 120 bytes, two do not");
        Assert.That(SwimCodec.TryParse(body.AsSpan(0, position), out var view), Is.True);
        var reader = new SwimCodec.NewsReader(view.Body);
        Assert.That(reader.TryRead(out _), Is.True);
        Assert.That(reader.TryRead(out _), Is.False);
    }

    [TestCase(new byte[] { 0x08, 0x09 }, TestName = "UnknownKind")]
    [TestCase(new byte[] { 0x08 }, TestName = "TruncatedVarint")]
    [TestCase(new byte[] { 0x1A, 0x05, 0x01 }, TestName = "SenderRunsPastTheEnd")]
    public void MalformedHead_IsRefused(byte[] content) => Assert.That(SwimCodec.TryParse(content, out _), Is.False);

    [Test]
    public void MalformedNews_StopsTheReader_AndSaysSo()
    {
        // kind = PING, then a news item whose state is 7.
        byte[] content = [0x08, 0x01, 0x42, 0x02, 0x08, 0x07];
        Assert.That(SwimCodec.TryParse(content, out var view), Is.True);
        var reader = new SwimCodec.NewsReader(view.Body);
        Assert.That(reader.TryRead(out _), Is.False);
        Assert.That(reader.Malformed, Is.True);
    }
}
