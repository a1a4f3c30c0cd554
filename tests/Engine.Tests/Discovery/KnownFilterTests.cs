using Engine.Discovery;
using Engine.Membership;
using Engine.Transport;

namespace Engine.Tests.Discovery;

public sealed class KnownFilterTests
{
    private static byte[] Id(int i) => System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i));

    private static MembershipTable TableOf(int members, int deadFrom)
    {
        var table = new MembershipTable(new MembershipOptions(), TimeProvider.System, new Random(3));
        for (int i = 0; i < members; i++)
        {
            var state = i >= deadFrom ? MemberState.Dead : MemberState.Alive;
            var news = new MemberAnnouncement(new PeerTime(100, (ulong)i + 1), state, PeerEndpoint.Loopback((ushort)(1000 + i)));
            table.Update(Id(i), in news, 0, out _);
        }

        return table;
    }

    [Test]
    public void HoldsEveryMemberAtItsTime_DeadOnesToo_AndFewOthers()
    {
        var table = TableOf(2000, deadFrom: 1500);
        var filter = KnownFilter.Build(table, seed: 42);
        Assert.That(KnownFilter.IsValid(filter), Is.True);

        // Alive or dead, an entry at the time the asker holds is of no use to it: all are in.
        for (int i = 0; i < 2000; i++)
        {
            Assert.That(KnownFilter.MayContain(filter, Id(i), new PeerTime(100, (ulong)i + 1)), Is.True, $"member {i} at its time ({(i >= 1500 ? "dead" : "alive")})");
        }

        // Not held at that time: newer times (alive or dead members), unknown members. Only false positives say yes.
        int falsePositives = 0, probes = 0;
        for (int i = 0; i < 2000; i++, probes++)
        {
            falsePositives += KnownFilter.MayContain(filter, Id(i), new PeerTime(100, (ulong)i + 2)) ? 1 : 0;
        }

        for (int i = 5000; i < 10000; i++, probes++)
        {
            falsePositives += KnownFilter.MayContain(filter, Id(i), new PeerTime(100, 1)) ? 1 : 0;
        }

        Assert.That(falsePositives, Is.LessThan(probes / 200), "false positives stay well under 0.5%");
    }

    [Test]
    public void APurgedMemberIsNotHeld()
    {
        var table = TableOf(3, deadFrom: 2);
        int purged = 0;
        foreach (var member in table.PurgeDead(TimeProvider.System.TimestampFrequency * 1000))
        {
            purged++;
        }

        Assert.That(purged, Is.EqualTo(1), "member 2, dead, purged 1,000 s on");
        var filter = KnownFilter.Build(table, seed: 9);
        Assert.Multiple(() =>
        {
            Assert.That(KnownFilter.MayContain(filter, Id(0), new PeerTime(100, 1)), Is.True);
            Assert.That(KnownFilter.MayContain(filter, Id(2), new PeerTime(100, 3)), Is.False, "purged: a dead entry would teach the asker again");
        });
    }

    [Test]
    public void AnEmptyTableGivesNoFilter_AndMalformedFiltersAreRefused()
    {
        Assert.That(KnownFilter.Build(TableOf(0, 0), 1), Is.Empty);
        Assert.That(KnownFilter.IsValid(new byte[8]), Is.False, "too short");
        var noHashes = new byte[32];
        Assert.That(KnownFilter.IsValid(noHashes), Is.False, "zero hashes");
        noHashes[8] = 17;
        Assert.That(KnownFilter.IsValid(noHashes), Is.False, "too many hashes");
        noHashes[8] = 5;
        Assert.That(KnownFilter.IsValid(noHashes), Is.True);
    }

    [Test]
    public void RequestCarriesTheFilterAndDigest_AndAFabricRequestHasNeither()
    {
        byte[] self = Google.Protobuf.MessageExtensions.ToByteArray(new Engine.Protocol.Envelope { Payload = Google.Protobuf.ByteString.CopyFrom(1, 2, 3) });
        byte[] filter = KnownFilter.Build(TableOf(10, 10), 7);
        const ulong digest = 0xF00D_CAFE_1234_5678UL;
        var request = new byte[MembershipMessages.RequestSize(self.Length, filter.Length, digest)];
        int written = MembershipMessages.WriteRequest(request, self, filter, digest);
        Assert.That(written, Is.EqualTo(request.Length));
        Assert.That(Engine.Protocol.EnvelopeView.TryParse(request, out var view), Is.True);
        Assert.That(MembershipMessages.TryParseRequest(view.Content, out var parsedSelf, out var parsedFilter, out ulong parsedDigest), Is.True);
        Assert.That(parsedSelf.ToArray(), Is.EqualTo(self));
        Assert.That(parsedFilter.ToArray(), Is.EqualTo(filter));
        Assert.That(parsedDigest, Is.EqualTo(digest));

        // Fabric's own MembershipRequest message reads it: the extension fields are unknown fields to it.
        var fabric = Engine.Protocol.GossipMessage.Parser.ParseFrom(Engine.Protocol.Envelope.Parser.ParseFrom(request).Payload);
        Assert.That(fabric.MemReq.SelfInformation.Payload.ToByteArray(), Is.EqualTo(new byte[] { 1, 2, 3 }));

        var plain = new byte[MembershipMessages.RequestSize(self.Length)];
        MembershipMessages.WriteRequest(plain, self);
        Assert.That(Engine.Protocol.EnvelopeView.TryParse(plain, out var plainView), Is.True);
        Assert.That(MembershipMessages.TryParseRequest(plainView.Content, out _, out var none, out ulong noDigest), Is.True);
        Assert.That(none.IsEmpty, Is.True);
        Assert.That(noDigest, Is.Zero);
    }
}
