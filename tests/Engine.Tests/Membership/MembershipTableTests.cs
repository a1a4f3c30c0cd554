using Engine.Membership;
using Engine.Transport;
using static Engine.Tests.Membership.MembershipTestKit;

namespace Engine.Tests.Membership;

public sealed class MembershipTableTests
{
    [TestCase(1)]
    [TestCase(20)]
    [TestCase(32)]
    [TestCase(33)]
    [TestCase(64)]
    public void TheKeyLivesWithTheEndpoints_SharedOnlyBetweenEqualKeys_AndKeptWhenTheEndpointsChange(int keyLength)
    {
        // Records of key, endpoints and metadata are shared across the process's tables: two keys announcing the same
        // endpoints must still get a record each, and a member whose endpoints change keeps its key.
        byte[] KeyOf(byte fill) => Enumerable.Repeat(fill, keyLength).ToArray();
        byte[] first = KeyOf(0xA1), second = KeyOf(0xB2);
        var same = new MemberAnnouncement(new PeerTime(1, 1), MemberState.Alive, Endpoint(77), default, "Org1MSP", [9, 9]);
        var one = NewTable(seed: 1);
        var two = NewTable(seed: 2);
        Assert.That(one.Update(first, same, 0, out var a), Is.EqualTo(MembershipChange.Added));
        Assert.That(two.Update(second, same, 0, out var b), Is.EqualTo(MembershipChange.Added));
        Assert.That(two.Update(first, same, 0, out var c), Is.EqualTo(MembershipChange.Added));
        Assert.That(a!.PkiId.ToArray(), Is.EqualTo(first));
        Assert.That(b!.PkiId.ToArray(), Is.EqualTo(second));
        Assert.That(c!.PkiId.ToArray(), Is.EqualTo(first));
        Assert.That(two.Find(second), Is.SameAs(b));
        Assert.That(two.Find(first), Is.SameAs(c));

        var moved = new MemberAnnouncement(new PeerTime(1, 2), MemberState.Alive, Endpoint(78), Endpoint(79), "Org1MSP", [8]);
        Assert.That(two.Update(second, moved, 1, out _), Is.EqualTo(MembershipChange.Refreshed));
        Assert.That((b.Endpoint, b.InternalEndpoint, b.Metadata.ToArray()), Is.EqualTo((Endpoint(78), Endpoint(79), new byte[] { 8 })));
        Assert.That(b.PkiId.ToArray(), Is.EqualTo(second), "the new record has the member's key");
        Assert.That(two.Find(second), Is.SameAs(b));
        Assert.That(c.Endpoint, Is.EqualTo(Endpoint(77)), "the other member's record is untouched");
        Assert.That(two.Update(second, new MemberAnnouncement(new PeerTime(2, 1), MemberState.Alive, Endpoint(80), default, "Org1MSP"), 2, out _),
            Is.EqualTo(MembershipChange.Restarted));
        Assert.That((two.Find(second)!.PkiId.ToArray(), two.Find(second)!.Endpoint), Is.EqualTo((second, Endpoint(80))));
    }

    [Test]
    public void UnknownMemberIsAddedAndFoundByItsPkiId()
    {
        var table = NewTable();
        var change = table.Update(Key(1), new MemberAnnouncement(new PeerTime(10, 1), MemberState.Alive, Endpoint(1), Endpoint(2), "Org1MSP", [1, 2, 3]), 42, out var added);

        Assert.That(change, Is.EqualTo(MembershipChange.Added));
        var found = table.Find(Key(1));
        Assert.That(found, Is.SameAs(added));
        Assert.That(found!.PkiId.ToArray(), Is.EqualTo(Key(1)));
        Assert.That(found.State, Is.EqualTo(MemberState.Alive));
        Assert.That(found.Time, Is.EqualTo(new PeerTime(10, 1)));
        Assert.That(found.Endpoint, Is.EqualTo(Endpoint(1)));
        Assert.That(found.InternalEndpoint, Is.EqualTo(Endpoint(2)));
        Assert.That(found.Org, Is.EqualTo("Org1MSP"));
        Assert.That(found.Metadata.ToArray(), Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.That(found.LastSeen, Is.EqualTo(42));
        Assert.That(table.Find(Key(2)), Is.Null);
        Assert.That((table.Count, table.AliveCount, table.DeadCount), Is.EqualTo((1, 1, 0)));
    }

    [TestCase(0, 0)]
    [TestCase(1, 0)]
    [TestCase(0, 1)]
    [TestCase(2, 0)]
    [TestCase(0, 3)]
    [TestCase(1, 1)]
    [TestCase(2, 3)]
    [TestCase(2, 1)]
    [TestCase(1, 3)]
    public void InternalAndExternalEndpoints_AbsentEqualOrDifferent_ReadBackAsAnnounced_AndChangesLand(int internalId, int externalId)
    {
        // 0: none announced; 1: the member's own endpoint; 2, 3: other endpoints. The record keeps the last two kinds
        // differently (a flag, or a side object), and must read back the same either way, and after a change.
        var table = NewTable();
        PeerEndpoint Of(int id) => id == 0 ? default : Endpoint(id);
        var announced = new MemberAnnouncement(new PeerTime(1, 1), MemberState.Alive, Endpoint(1), Of(internalId), "Org1MSP") { ExternalEndpoint = Of(externalId) };
        table.Update(Key(1), announced, 0, out var member);
        Assert.That((member!.Endpoint, member.InternalEndpoint, member.ExternalEndpoint), Is.EqualTo((Endpoint(1), Of(internalId), Of(externalId))));

        var moved = new MemberAnnouncement(new PeerTime(1, 2), MemberState.Alive, Endpoint(1), Of(externalId), "Org1MSP") { ExternalEndpoint = Of(internalId) };
        Assert.That(table.Update(Key(1), moved, 1, out _), Is.EqualTo(MembershipChange.Refreshed));
        Assert.That((member.Endpoint, member.InternalEndpoint, member.ExternalEndpoint), Is.EqualTo((Endpoint(1), Of(externalId), Of(internalId))), "swapped by newer news");
    }

    [TestCase(32, 5UL)]
    [TestCase(33, 5UL)]
    [TestCase(64, 5UL)]
    [TestCase(32, ulong.MaxValue - 3)]
    [TestCase(48, ulong.MaxValue - 3)]
    public void ShortAndLongKeys_RestartAgainAndAgain_KeepTheirKeyAndTheNewestIncarnation(int keyLength, ulong firstSeq)
    {
        // A key longer than 32 bytes lives in the info record's side object; the restarts chain later incarnations.
        var table = NewTable();
        var key = Enumerable.Range(0, keyLength).Select(i => (byte)(i * 7 + 1)).ToArray();
        MemberAnnouncement At(ulong inc, ulong seq) => new(new PeerTime(inc, seq), MemberState.Alive, Endpoint(1));
        Assert.That(table.Update(key, At(1, firstSeq), 0, out var member), Is.EqualTo(MembershipChange.Added));
        for (ulong inc = 2; inc <= 6; inc++)
        {
            Assert.That(table.Update(key, At(inc, 0), 0, out var again), Is.EqualTo(MembershipChange.Restarted), $"incarnation {inc}");
            Assert.That(again, Is.SameAs(member));
            Assert.That(table.Update(key, At(inc - 1, ulong.MaxValue), 0, out _), Is.EqualTo(MembershipChange.Stale), "an older incarnation never wins");
            Assert.That(table.Update(key, At(inc, 3), 0, out _), Is.EqualTo(MembershipChange.Refreshed));
            Assert.That(member!.Time, Is.EqualTo(new PeerTime(inc, 3)));
            Assert.That(member.PkiId.ToArray(), Is.EqualTo(key), "the key survives every restart");
            Assert.That(table.Find(key), Is.SameAs(member));
        }

        Assert.That(table.MarkDead(member!), Is.EqualTo(MembershipChange.Died));
        Assert.That(member!.State, Is.EqualTo(MemberState.Dead));
        Assert.That(member.Time, Is.EqualTo(new PeerTime(6, 3)));
    }

    [Test]
    public void KeysOfAnyLengthUpToTheLimitAreDistinct()
    {
        var table = NewTable();
        for (int length = 1; length <= 64; length++)
        {
            var key = Enumerable.Repeat((byte)7, length).ToArray();
            Assert.That(table.Update(key, new MemberAnnouncement(new PeerTime(1, 1), MemberState.Alive, Endpoint(length)), 0, out _), Is.EqualTo(MembershipChange.Added), $"length {length}");
        }

        for (int length = 1; length <= 64; length++)
        {
            var member = table.Find(Enumerable.Repeat((byte)7, length).ToArray());
            Assert.That(member?.Endpoint, Is.EqualTo(Endpoint(length)), $"length {length}");
            Assert.That(member!.PkiId.Length, Is.EqualTo(length));
        }

        Assert.That(table.Update(new byte[65], new MemberAnnouncement(new PeerTime(1, 1), MemberState.Alive, Endpoint(0)), 0, out var rejected), Is.EqualTo(MembershipChange.Rejected));
        Assert.That(rejected, Is.Null);
        Assert.That(table.Update([], new MemberAnnouncement(new PeerTime(1, 1), MemberState.Alive, Endpoint(0)), 0, out _), Is.EqualTo(MembershipChange.Rejected));
        Assert.That(table.Find([]), Is.Null);
        Assert.That(table.Update([1], default, 0, out var bare), Is.EqualTo(MembershipChange.Added), "a default announcement is valid: time 0/0, alive");
        Assert.That((bare!.Org, bare.Time, bare.Endpoint.IsEmpty), Is.EqualTo((string.Empty, default(PeerTime), true)));
        Assert.That(table.Update([2], new MemberAnnouncement(default, MemberState.Purged, Endpoint(0)), 0, out _), Is.EqualTo(MembershipChange.Rejected), "news cannot purge");
        Assert.That(table.Count, Is.EqualTo(65));
    }

    [Test]
    public void NewerSequenceWinsAndEqualOrOlderIsStale()
    {
        var table = NewTable();
        table.Alive(1, inc: 5, seq: 10, now: 1);

        Assert.That(table.Alive(1, 5, 11, now: 2), Is.EqualTo(MembershipChange.Refreshed));
        Assert.That(table.Alive(1, 5, 11, now: 3), Is.EqualTo(MembershipChange.Stale), "equal time");
        Assert.That(table.Alive(1, 5, 7, now: 4), Is.EqualTo(MembershipChange.Stale), "older seq");
        Assert.That(table.Alive(1, 4, 1_000, now: 5), Is.EqualTo(MembershipChange.Stale), "older incarnation, higher seq");

        var member = table.Get(1);
        Assert.That(member.Time, Is.EqualTo(new PeerTime(5, 11)));
        Assert.That(member.LastSeen, Is.EqualTo(2), "stale news must not count as a sign of life");
    }

    [Test]
    public void NewerIncarnationWinsEvenWithALowerSequence()
    {
        var table = NewTable();
        table.Alive(1, inc: 5, seq: 1_000);
        var member = table.Get(1);

        Assert.That(table.Alive(1, 6, 0), Is.EqualTo(MembershipChange.Restarted));
        Assert.That(member.Time, Is.EqualTo(new PeerTime(6, 0)));
        Assert.That(table.Alive(1, 5, 2_000), Is.EqualTo(MembershipChange.Stale));
        Assert.That(table.Alive(1, 6, 1), Is.EqualTo(MembershipChange.Refreshed));
        Assert.That(member.Time, Is.EqualTo(new PeerTime(6, 1)));
        Assert.That(table.Find(Key(1)), Is.SameAs(member), "a restart keeps the member object");
        Assert.That((table.Count, table.AliveCount), Is.EqualTo((1, 1)));
    }

    [Test]
    public void SequenceNumbersAcrossTheWholeRangeCompareExactly()
    {
        var table = NewTable();
        table.Alive(1, inc: 1, seq: 3);
        Assert.That(table.Alive(1, 1, ulong.MaxValue - 1), Is.EqualTo(MembershipChange.Refreshed), "beyond one word's range: a new record");
        Assert.That(table.Alive(1, 1, ulong.MaxValue - 2), Is.EqualTo(MembershipChange.Stale));
        Assert.That(table.Alive(1, 1, 1UL << 63), Is.EqualTo(MembershipChange.Stale));
        Assert.That(table.Alive(1, 1, ulong.MaxValue), Is.EqualTo(MembershipChange.Refreshed));
        Assert.That(table.Get(1).Time, Is.EqualTo(new PeerTime(1, ulong.MaxValue)));
        Assert.That(table.Alive(1, ulong.MaxValue, 0), Is.EqualTo(MembershipChange.Restarted));
        Assert.That(table.Get(1).Time, Is.EqualTo(new PeerTime(ulong.MaxValue, 0)));
    }

    [TestCase((1UL << 62) - 2)]
    [TestCase((1UL << 62) - 1)]
    [TestCase(ulong.MaxValue - 1)]
    public void AMemberFirstSeenWithASequenceNumberAtTheTopOfTheRange_KeepsItExactly(ulong seq)
    {
        // The member's inline incarnation holds seq itself in a 62-bit delta: from 2^62 - 1 on, the member starts with a
        // separate incarnation record. Either way the time reads back exactly and orders as before.
        var table = NewTable();
        Assert.That(table.Alive(1, inc: 1, seq: seq), Is.EqualTo(MembershipChange.Added));
        Assert.That(table.Get(1).Time, Is.EqualTo(new PeerTime(1, seq)));
        Assert.That(table.Alive(1, 1, seq - 1), Is.EqualTo(MembershipChange.Stale));
        Assert.That(table.Alive(1, 1, seq + 1), Is.EqualTo(MembershipChange.Refreshed));
        Assert.That(table.Get(1).Time, Is.EqualTo(new PeerTime(1, seq + 1)));
        Assert.That(table.MarkDead(table.Get(1)), Is.EqualTo(MembershipChange.Died));
        Assert.That(table.Get(1).GetState(out var time), Is.EqualTo(MemberState.Dead));
        Assert.That(time, Is.EqualTo(new PeerTime(1, seq + 1)));
        Assert.That(table.Alive(1, 2, 0), Is.EqualTo(MembershipChange.Resurrected));
        Assert.That(table.Get(1).Time, Is.EqualTo(new PeerTime(2, 0)));
    }

    [Test]
    public void DeadMemberComesBackOnlyWithNewerNews()
    {
        var table = NewTable();
        table.Alive(1, 5, 10);
        var member = table.Get(1);

        Assert.That(table.MarkDead(member), Is.EqualTo(MembershipChange.Died));
        Assert.That(table.MarkDead(member), Is.EqualTo(MembershipChange.Stale));
        Assert.That(member.State, Is.EqualTo(MemberState.Dead));
        Assert.That((table.AliveCount, table.DeadCount), Is.EqualTo((0, 1)));

        Assert.That(table.Alive(1, 5, 10), Is.EqualTo(MembershipChange.Stale), "the same alive message again does not resurrect");
        Assert.That(member.State, Is.EqualTo(MemberState.Dead));
        Assert.That(table.Alive(1, 5, 11), Is.EqualTo(MembershipChange.Resurrected));
        Assert.That(member.State, Is.EqualTo(MemberState.Alive));
        Assert.That((table.AliveCount, table.DeadCount), Is.EqualTo((1, 0)));

        table.MarkDead(member);
        Assert.That(table.Alive(1, 6, 0), Is.EqualTo(MembershipChange.Resurrected), "a restart resurrects too");
        Assert.That((table.AliveCount, table.DeadCount), Is.EqualTo((1, 0)));
    }

    [Test]
    public void DeadNewsAtTheSameTimeOverridesAliveButNotNewerAlive()
    {
        var table = NewTable();
        table.Alive(1, 5, 10);

        Assert.That(table.Announce(1, 5, 9, MemberState.Dead), Is.EqualTo(MembershipChange.Stale), "dead news about an older time");
        Assert.That(table.Announce(1, 5, 10, MemberState.Dead), Is.EqualTo(MembershipChange.Died));
        Assert.That(table.Announce(1, 5, 10, MemberState.Alive), Is.EqualTo(MembershipChange.Stale));
        Assert.That(table.Announce(1, 5, 12, MemberState.Dead), Is.EqualTo(MembershipChange.Refreshed));
        Assert.That(table.Get(1).Time, Is.EqualTo(new PeerTime(5, 12)));

        Assert.That(table.Announce(2, 1, 1, MemberState.Dead), Is.EqualTo(MembershipChange.Added), "dead members are learned too");
        Assert.That((table.AliveCount, table.DeadCount), Is.EqualTo((0, 2)));
        Assert.That(table.Sample(new Member[4]), Is.EqualTo(0));
    }

    [Test]
    public void SuspicionIsBetweenAliveAndDead()
    {
        var table = NewTable();
        table.Alive(1, 5, 10);
        var member = table.Get(1);

        Assert.That(table.MarkSuspect(member), Is.EqualTo(MembershipChange.Suspected));
        Assert.That(table.MarkSuspect(member), Is.EqualTo(MembershipChange.Stale));
        Assert.That((table.AliveCount, table.SuspectCount), Is.EqualTo((0, 1)));
        Assert.That(table.Sample(new Member[1]), Is.EqualTo(1), "suspects are still contacted");
        Assert.That(table.Alive(1, 5, 11), Is.EqualTo(MembershipChange.Resurrected), "newer news refutes the suspicion");
        table.MarkSuspect(member);
        Assert.That(table.MarkDead(member), Is.EqualTo(MembershipChange.Died));
        Assert.That(table.MarkSuspect(member), Is.EqualTo(MembershipChange.Stale), "dead outranks suspect");
        Assert.That((table.AliveCount, table.SuspectCount, table.DeadCount), Is.EqualTo((0, 0, 1)));
    }

    [Test]
    public void EndpointsAndMetadataFollowNewerNewsOnly()
    {
        var table = NewTable();
        var key = Key(1);
        table.Update(key, new MemberAnnouncement(new PeerTime(1, 1), MemberState.Alive, Endpoint(1), metadata: [1]), 0, out var member);
        ReadOnlyMemory<byte> firstMetadata = member!.Metadata;

        table.Update(key, new MemberAnnouncement(new PeerTime(1, 2), MemberState.Alive, Endpoint(1), metadata: [1]), 0, out _);
        Assert.That(member.Metadata.Equals(firstMetadata), Is.True, "unchanged metadata is not copied again");

        table.Update(key, new MemberAnnouncement(new PeerTime(1, 3), MemberState.Alive, Endpoint(9), metadata: [2, 2]), 0, out _);
        Assert.That((member.Endpoint, member.Metadata.ToArray()), Is.EqualTo((Endpoint(9), new byte[] { 2, 2 })));

        table.Update(key, new MemberAnnouncement(new PeerTime(1, 2), MemberState.Alive, Endpoint(5), metadata: [5]), 0, out _);
        Assert.That((member.Endpoint, member.Metadata.ToArray()), Is.EqualTo((Endpoint(9), new byte[] { 2, 2 })), "stale news changes nothing");

        table.Update(key, new MemberAnnouncement(new PeerTime(2, 0), MemberState.Alive, Endpoint(7), org: "OtherMSP"), 0, out _);
        Assert.That((member.Endpoint, member.Metadata.Length, member.Org), Is.EqualTo((Endpoint(7), 0, string.Empty)), "the org is bound to the PKI-ID at first sight");
    }

    [Test]
    public void ViewDigest_DependsOnWhoIsHeldAndWhoIsDead_NotOnTimesOrOrder()
    {
        // Two tables learn the same members in opposite orders, at different times (one hears a later heartbeat).
        var a = NewTable(seed: 1);
        var b = NewTable(seed: 2);
        for (int i = 0; i < 50; i++)
        {
            a.Alive(i, inc: 10, seq: 1);
            b.Alive(49 - i, inc: 10, seq: 5);
        }

        Assert.That(a.Digest, Is.EqualTo(b.Digest), "same members, none dead: equal, whatever the times and order");
        Assert.That(a.Digest, Is.Not.Zero);

        a.MarkSuspect(a.Get(7));
        Assert.That(a.Digest, Is.EqualTo(b.Digest), "suspect and alive are not told apart (a response teaches neither)");

        ulong before = a.Digest;
        a.MarkDead(a.Get(7));
        Assert.That(a.Digest, Is.Not.EqualTo(b.Digest), "one side holds 7 dead: a response may bring it back");
        b.MarkDead(b.Get(7));
        Assert.That(a.Digest, Is.EqualTo(b.Digest));

        a.Alive(7, inc: 11, seq: 1); // restarted: alive again in a, still dead in b
        Assert.That(a.Digest, Is.EqualTo(before));
        Assert.That(b.DigestWithout(b.Get(7)), Is.EqualTo(a.DigestWithout(a.Get(7))), "everything but member 7 agrees");

        a.Alive(99, inc: 1, seq: 1);
        Assert.That(a.DigestWithout(a.Get(99)), Is.EqualTo(before), "a new member adds its term; without it the digest is as it was");

        // Purged: gone from the digest.
        b.MarkDead(b.Get(3));
        ulong withDead = b.Digest;
        int purged = 0;
        foreach (var member in b.PurgeDead(Seconds(10_000)))
        {
            purged++;
        }

        Assert.That(purged, Is.EqualTo(2));
        Assert.That(b.Digest, Is.EqualTo(withDead - MembershipTable.DigestTerm(Key(3), dead: true) - MembershipTable.DigestTerm(Key(7), dead: true)));
        Assert.That(b.DigestWithout(null), Is.EqualTo(b.Digest));
    }

    [Test]
    public void TablesInOneProcessShareAMembersEndpointsAndMetadata()
    {
        var first = NewTable(seed: 1);
        var second = NewTable(seed: 2);
        first.Update(Key(3), new MemberAnnouncement(new PeerTime(1, 1), MemberState.Alive, Endpoint(3), Endpoint(4), metadata: [7, 7]), 0, out var a);
        second.Update(Key(3), new MemberAnnouncement(new PeerTime(1, 5), MemberState.Alive, Endpoint(3), Endpoint(4), metadata: [7, 7]), 0, out var b);
        Assert.That(a!.Metadata.Equals(b!.Metadata), Is.True, "one record for the same content, whatever time each table learned it at");

        second.Update(Key(3), new MemberAnnouncement(new PeerTime(1, 6), MemberState.Alive, Endpoint(9), Endpoint(4), metadata: [7, 7]), 0, out _);
        Assert.That((a.Endpoint, b.Endpoint), Is.EqualTo((Endpoint(3), Endpoint(9))), "a change in one table leaves the other's view alone");
        Assert.That(b.Metadata.ToArray(), Is.EqualTo(new byte[] { 7, 7 }));

        first.Update(Key(3), new MemberAnnouncement(new PeerTime(1, 2), MemberState.Alive, Endpoint(9), Endpoint(4), metadata: [7, 7]), 0, out _);
        Assert.That(a.Metadata.Equals(b.Metadata) && a.Endpoint == b.Endpoint, Is.True, "the changed content is shared again once both hold it");
    }

    [Test]
    public void TenThousandMembersKeepOneRecordEachAcrossTables()
    {
        var first = NewTable(seed: 1, maxMembers: 20_000);
        var second = NewTable(seed: 2, maxMembers: 20_000);
        byte[] metadata = [0x5E, 0xED, 0x10];
        var learned = new Member[10_000];
        for (int id = 0; id < learned.Length; id++)
        {
            first.Update(Key(id), new MemberAnnouncement(new PeerTime(1, 1), MemberState.Alive, Endpoint(id), metadata: metadata), 0, out var member);
            learned[id] = member!;
        }

        int shared = 0;
        for (int id = 0; id < learned.Length; id++)
        {
            second.Update(Key(id), new MemberAnnouncement(new PeerTime(1, 7), MemberState.Alive, Endpoint(id), metadata: metadata), 0, out var member);
            shared += member!.Metadata.Equals(learned[id].Metadata) ? 1 : 0;
        }

        // Direct-mapped (one way), a run of this test kept one record for only 8,628 of the 10,000 members.
        Assert.That(shared, Is.GreaterThanOrEqualTo(9_900), "members whose two tables hold one record");
    }

    [Test]
    public void ExpiryDeclaresSilentMembersDead()
    {
        var table = NewTable(); // alive expiration 25 s
        table.Alive(1, 1, 1, now: Seconds(0));
        table.Alive(2, 1, 1, now: Seconds(0));
        table.Alive(3, 1, 1, now: Seconds(0));
        table.MarkSuspect(table.Get(3));
        table.Alive(2, 1, 2, now: Seconds(20));

        Assert.That(Expire(table, Seconds(25)), Is.Empty, "not yet past the timeout");
        var expired = Expire(table, Seconds(26));
        Assert.That(expired.Select(m => m.Endpoint), Is.EquivalentTo(new[] { Endpoint(1), Endpoint(3) }));
        Assert.That(table.Get(1).State, Is.EqualTo(MemberState.Dead));
        Assert.That(Expire(table, Seconds(30)), Is.Empty, "already dead");
        Assert.That(Expire(table, Seconds(46)).Single().Endpoint, Is.EqualTo(Endpoint(2)));
        Assert.That((table.AliveCount, table.SuspectCount, table.DeadCount), Is.EqualTo((0, 0, 3)));
    }

    [Test]
    public void PurgeHonoursTheRetentionTimeAndTheNeverPurgeMark()
    {
        var table = NewTable(); // purge after 500 s
        table.Alive(1, 1, 1, now: Seconds(0));
        table.Alive(2, 1, 1, now: Seconds(0));
        table.Alive(3, 1, 1, now: Seconds(0));
        var anchor = table.Get(3);
        Assert.That(MembershipTable.SetNeverPurge(anchor, true), Is.False);
        Assert.That(anchor.NeverPurge, Is.True);
        Assert.That(Expire(table, Seconds(30)), Has.Count.EqualTo(3));
        Assert.That(Purge(table, Seconds(100)), Is.Empty, "alive members are never purged");

        var member1 = table.Get(1);
        Assert.That(Purge(table, Seconds(500)), Is.Empty, "dead, but not for long enough");
        var purged = Purge(table, Seconds(501));
        Assert.That(purged.Select(m => m.Endpoint), Is.EquivalentTo(new[] { Endpoint(1), Endpoint(2) }));
        Assert.That(member1.State, Is.EqualTo(MemberState.Purged));
        Assert.That(table.Find(Key(1)), Is.Null);
        Assert.That(table.Get(3), Is.SameAs(anchor), "the anchor stays");
        Assert.That((table.Count, table.DeadCount), Is.EqualTo((1, 1)));
        Assert.That(table.Members(), Is.EqualTo(new[] { anchor }));

        // A purged peer that comes back is a new member; the old object stays purged.
        Assert.That(table.Alive(1, 1, 2, now: Seconds(600)), Is.EqualTo(MembershipChange.Added));
        Assert.That(table.Get(1), Is.Not.SameAs(member1));
        Assert.That(member1.State, Is.EqualTo(MemberState.Purged));
        Assert.That(table.Alive(1, 1, 3), Is.EqualTo(MembershipChange.Refreshed));
        Assert.That(table.MarkDead(member1), Is.EqualTo(MembershipChange.Stale));
        Assert.That((table.Count, table.AliveCount, table.DeadCount), Is.EqualTo((2, 1, 1)));
    }

    [Test]
    public void TableGrowsAndCompactsWithoutLosingMembers()
    {
        var table = NewTable(initialCapacity: 0);
        for (int i = 0; i < 5_000; i++)
        {
            Assert.That(table.Alive(i, 1, 1, now: Seconds(0)), Is.EqualTo(MembershipChange.Added));
        }

        Assert.That(table.Count, Is.EqualTo(5_000));
        for (int i = 0; i < 5_000; i++)
        {
            Assert.That(table.Find(Key(i))?.Endpoint, Is.EqualTo(Endpoint(i)), $"member {i}");
        }

        // Kill and purge 90 %: the purge pass compacts the index; the rest must all be found once.
        for (int i = 0; i < 5_000; i++)
        {
            if (i % 10 != 0)
            {
                table.MarkDead(table.Get(i));
            }
        }

        Assert.That(Purge(table, Seconds(1_000)), Has.Count.EqualTo(4_500));
        Assert.That(table.CurrentIndex.Claimed, Is.LessThan(1_000), "purged members were dropped from the index");
        Assert.That(table.Members().Select(m => m.Endpoint), Is.EquivalentTo(Enumerable.Range(0, 500).Select(i => Endpoint(i * 10))));
        Assert.That(table.Find(Key(11)), Is.Null);
        Assert.That(table.Alive(11, 1, 9), Is.EqualTo(MembershipChange.Added));
        Assert.That((table.Count, table.AliveCount, table.SampleableCount), Is.EqualTo((501, 501, 501)));
    }

    [Test]
    public void CapacityIsBounded()
    {
        var table = NewTable(maxMembers: 3);
        Assert.That(Enumerable.Range(0, 3).Select(i => table.Alive(i, 1, 1)), Is.All.EqualTo(MembershipChange.Added));
        Assert.That(table.Alive(3, 1, 1), Is.EqualTo(MembershipChange.Rejected));
        Assert.That(table.Alive(2, 1, 2), Is.EqualTo(MembershipChange.Refreshed), "known members still update");
        Assert.That(table.Count, Is.EqualTo(3));
    }

    [Test]
    public void UpdatesAndLookupsOfKnownMembersAllocateNothing()
    {
        var table = NewTable();
        for (int i = 0; i < 100; i++)
        {
            table.Alive(i, 1, 1);
        }

        var keys = Enumerable.Range(0, 100).Select(Key).ToArray();
        var endpoints = Enumerable.Range(0, 100).Select(Endpoint).ToArray();
        var sample = new Member[3];
        var sender = table.Get(0);
        ulong seq = 2;
        Run(); // warm up (JIT)
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allocated, Is.Zero);

        void Run()
        {
            for (int round = 0; round < 50; round++, seq++)
            {
                for (int i = 0; i < keys.Length; i++)
                {
                    table.Update(keys[i], new MemberAnnouncement(new PeerTime(1, seq), MemberState.Alive, endpoints[i], org: "Org1MSP"), 5, out _);
                    _ = table.Find(keys[i]);
                    _ = table.Sample(sample, new OrgPeerFilter("Org1MSP", sender));
                    _ = table.SampleOrg("Org1MSP", sample, new ExceptPeerFilter(sender));
                    _ = table.MarkDead(sender);
                }
            }
        }
    }

    [Test]
    public void ExpiryAndPurgePassesAreSkippedUntilAMemberCouldBeDue()
    {
        var table = NewTable();
        for (int id = 1; id <= 100; id++)
        {
            table.Alive(id, 1, 1, now: 0);
        }

        Assert.That(Expire(table, Seconds(1)), Is.Empty);
        Assert.That(table.ScannedPasses, Is.EqualTo(1), "the first pass visits the members");
        for (int second = 2; second <= 25; second++)
        {
            Assert.That(Expire(table, Seconds(second)), Is.Empty);
        }

        Assert.That(table.ScannedPasses, Is.EqualTo(1), "nobody can expire before 25 s after it was last seen: no pass visits");
        table.Alive(7, 1, 2, now: Seconds(20));
        Assert.That(Expire(table, Seconds(25.5)), Has.Count.EqualTo(99), "all but the one heard from at 20 s");
        Assert.That(table.ScannedPasses, Is.EqualTo(2));
        Assert.That(Expire(table, Seconds(44)), Is.Empty);
        Assert.That(Expire(table, Seconds(45.5)).Select(m => m.PkiId.ToArray()), Is.EqualTo(new[] { Key(7) }));

        Assert.That(Purge(table, Seconds(46)), Is.Empty);
        long scanned = table.ScannedPasses;
        Assert.That(Purge(table, Seconds(300)), Is.Empty);
        Assert.That(Purge(table, Seconds(500)), Is.Empty);
        Assert.That(table.ScannedPasses, Is.EqualTo(scanned), "no dead member can be purged before 500 s after it was last seen");
        Assert.That(Purge(table, Seconds(500.5)), Has.Count.EqualTo(99));
        Assert.That(Purge(table, Seconds(520.5)), Has.Count.EqualTo(1));
        Assert.That(table.Count, Is.Zero);
    }

    [Test]
    public void NewsThatMakesAMemberDueSoonerIsNotSkipped()
    {
        var table = NewTable();
        Assert.That(Expire(table, Seconds(100)), Is.Empty);
        Assert.That(Purge(table, Seconds(100)), Is.Empty);

        // Learned after the passes, last seen long ago (a caller's timestamp is whatever it says).
        table.Alive(1, 1, 1, now: Seconds(10));
        Assert.That(Expire(table, Seconds(101)).Count, Is.EqualTo(1), "silent since 10 s: due at once, not at the next cap");

        table.Alive(2, 1, 1, now: Seconds(20));
        Assert.That(table.MarkDead(table.Get(2)), Is.EqualTo(MembershipChange.Died));
        Assert.That(Purge(table, Seconds(509)), Is.Empty);
        Assert.That(Purge(table, Seconds(510.5)).Select(m => m.PkiId.ToArray()), Is.EqualTo(new[] { Key(1) }), "expired at 101 s, last seen at 10 s: purged 500 s after that, not at the next cap (600 s)");
        Assert.That(Purge(table, Seconds(519)), Is.Empty);
        Assert.That(Purge(table, Seconds(520.5)).Select(m => m.PkiId.ToArray()), Is.EqualTo(new[] { Key(2) }), "dead since 20 s: purged 500 s later");
    }

    private static List<Member> Expire(MembershipTable table, long now)
    {
        var list = new List<Member>();
        foreach (var member in table.ExpireSilent(now))
        {
            list.Add(member);
        }

        return list;
    }

    private static List<Member> Purge(MembershipTable table, long now)
    {
        var list = new List<Member>();
        foreach (var member in table.PurgeDead(now))
        {
            list.Add(member);
        }

        return list;
    }
}
