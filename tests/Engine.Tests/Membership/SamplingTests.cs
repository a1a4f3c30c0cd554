using Engine.Membership;
using static Engine.Tests.Membership.MembershipTestKit;

namespace Engine.Tests.Membership;

public sealed class SamplingTests
{
    [TestCase(5)]
    [TestCase(20)]
    [TestCase(1_000)]
    public void SampleReturnsDistinctAliveMembers(int members)
    {
        var table = NewTable();
        for (int i = 0; i < members; i++)
        {
            table.Alive(i, 1, 1);
        }

        for (int i = 0; i < members; i += 3)
        {
            table.MarkDead(table.Get(i));
        }

        var sample = new Member[4];
        for (int round = 0; round < 200; round++)
        {
            int n = table.Sample(sample);
            Assert.That(n, Is.EqualTo(Math.Min(4, table.AliveCount)));
            Assert.That(sample.Take(n), Is.Unique);
            Assert.That(sample.Take(n).Select(m => m.State), Is.All.EqualTo(MemberState.Alive));
        }
    }

    [Test]
    public void TheOnlyOrganization_SharesTheAllMembersIndex_UntilASecondAppears_ThenHasItsOwn()
    {
        var table = NewTable();
        for (int i = 0; i < 200; i++)
        {
            table.Alive(i, 1, 1, org: "Org1MSP");
        }

        table.MarkDead(table.Get(7));
        Assert.That(table.OrgAliveIndex("Org1MSP"), Is.Null, "one organization: no second index of the same members");
        var sender = table.Get(0);
        var sample = new Member[3];
        var seen = new HashSet<Member>();
        for (int round = 0; round < 2_000; round++)
        {
            Assert.That(table.SampleOrg("Org1MSP", sample, new ExceptPeerFilter(sender)), Is.EqualTo(3));
            Assert.That(sample, Is.Unique);
            seen.UnionWith(sample);
        }

        Assert.That(seen, Is.EquivalentTo(Enumerable.Range(1, 199).Where(i => i != 7).Select(table.Get)), "every alive member but the sender");

        // A second organization: the first gets its own index, holding exactly its reachable members.
        for (int i = 200; i < 260; i++)
        {
            table.Alive(i, 1, 1, org: "Org2MSP");
        }

        var org1 = table.OrgAliveIndex("Org1MSP")!.Snapshot();
        Assert.That(org1, Is.EquivalentTo(Enumerable.Range(0, 200).Where(i => i != 7).Select(table.Get)));
        for (int i = 0; i < org1.Length; i++)
        {
            Assert.That(org1[i].OrgAlivePosition, Is.EqualTo(i));
        }

        Assert.That(table.OrgAliveIndex("Org2MSP")!.Count, Is.EqualTo(60));
        table.MarkDead(table.Get(3));
        table.Alive(7, 2, 0, org: "Org1MSP");
        Assert.That(table.OrgAliveIndex("Org1MSP")!.Snapshot(), Is.EquivalentTo(Enumerable.Range(0, 200).Where(i => i != 3).Select(table.Get)), "kept in step after it was built");
        for (int round = 0; round < 500; round++)
        {
            int n = table.SampleOrg("Org1MSP", sample, new ExceptPeerFilter(sender));
            Assert.That(sample.Take(n).Select(m => m.Org), Is.All.EqualTo("Org1MSP"));
            Assert.That(sample.Take(n), Has.None.SameAs(table.Get(3)));
        }
    }

    [Test]
    public void FilterIsRespectedAndTheSenderExcluded()
    {
        var table = NewTable();
        for (int i = 0; i < 300; i++)
        {
            table.Alive(i, 1, 1, org: i % 3 == 0 ? "Org1MSP" : "Org2MSP");
        }

        var sender = table.Get(0);
        var sample = new Member[3];
        var seen = new HashSet<Member>();
        for (int round = 0; round < 2_000; round++)
        {
            int n = table.Sample(sample, new OrgPeerFilter("Org1MSP", sender));
            Assert.That(n, Is.EqualTo(3));
            Assert.That(sample, Is.Unique);
            Assert.That(sample.Select(m => m.Org), Is.All.EqualTo("Org1MSP"));
            Assert.That(sample, Has.None.SameAs(sender));
            seen.UnionWith(sample);
        }

        Assert.That(seen, Has.Count.EqualTo(99), "every Org1 member but the sender is reachable");

        for (int round = 0; round < 200; round++)
        {
            Assert.That(table.Sample(sample, new ExceptPeerFilter(sender)), Is.EqualTo(3));
            Assert.That(sample, Has.None.SameAs(sender));
        }
    }

    [Test]
    public void OrgSamplesComeFromTheOrgOnly()
    {
        var table = NewTable();
        for (int i = 0; i < 10_000; i++)
        {
            table.Alive(i, 1, 1, org: i % 1_000 == 0 ? "SmallMSP" : "BigMSP");
        }

        var sender = table.Get(0);
        table.MarkDead(table.Get(1_000));
        var sample = new Member[5];
        var seen = new HashSet<Member>();
        for (int round = 0; round < 500; round++)
        {
            int n = table.SampleOrg("SmallMSP", sample, new ExceptPeerFilter(sender));
            Assert.That(n, Is.EqualTo(5));
            Assert.That(sample, Is.Unique);
            Assert.That(sample.Select(m => (m.Org, m.State)), Is.All.EqualTo(("SmallMSP", MemberState.Alive)));
            Assert.That(sample, Has.None.SameAs(sender));
            seen.UnionWith(sample);
        }

        Assert.That(seen, Has.Count.EqualTo(8), "the small org's alive members but the sender");
        Assert.That(table.SampleOrg("NoSuchMSP", sample, default(AnyPeerFilter)), Is.Zero);
        Assert.That(table.SampleOrg("BigMSP", sample, default(AnyPeerFilter)), Is.EqualTo(5));
        Assert.That(sample.Select(m => m.Org), Is.All.EqualTo("BigMSP"));
    }

    [Test]
    public void ManyOrganizations_EachMemberKeepsItsOwn_AndEachOrgSamplesItsOwnReachableMembers()
    {
        // Members hold their organization as a process-wide number: two tables that meet the same 37 organizations in
        // different orders, with members dying and coming back, still name and index each member by its own.
        var tables = new[] { NewTable(seed: 1), NewTable(seed: 2) };
        const int orgs = 37;
        static string OrgOf(int id) => $"ManyOrgs{id % orgs}MSP";
        for (int t = 0; t < tables.Length; t++)
        {
            for (int i = 0; i < 740; i++)
            {
                int id = t == 0 ? i : 739 - i;
                tables[t].Alive(id, 1, 1, org: OrgOf(id));
            }

            for (int id = 0; id < 740; id += 3)
            {
                tables[t].MarkDead(tables[t].Get(id));
            }

            for (int id = 0; id < 740; id += 6)
            {
                tables[t].Alive(id, 1, 2, org: OrgOf(id));
            }
        }

        var sample = new Member[40];
        foreach (var table in tables)
        {
            foreach (var member in table.Members())
            {
                int id = BitConverter.ToInt32(member.PkiId);
                Assert.That(member.Org, Is.EqualTo(OrgOf(id)), $"member {id}");
            }

            for (int org = 0; org < orgs; org++)
            {
                string name = OrgOf(org);
                var expected = table.Members().Where(m => m.Org == name && m.State == MemberState.Alive).ToHashSet();
                int n = table.SampleOrg(name, sample, default(AnyPeerFilter));
                Assert.That(n, Is.EqualTo(Math.Min(sample.Length, expected.Count)), name);
                Assert.That(sample.Take(n), Is.SubsetOf(expected).And.Unique, name);
            }
        }
    }

    private static readonly string[] NumberedNames = [string.Empty, "AMSP", "BMSP", "CMSP"];

    [Test]
    public void OrgNames_NumberEachNameOnce_AndRefuseNewNamesPastTheLimit()
    {
        var names = new OrgNames(maxId: 3);
        Assert.That(names.IdOf(string.Empty), Is.Zero, "the empty name is 0");
        int a = names.IdOf("AMSP"), b = names.IdOf("BMSP");
        Assert.That((a, b), Is.EqualTo((1, 2)));
        Assert.That(names.IdOf(new string("AMSP".AsSpan())), Is.EqualTo(a), "by value, not by reference");
        Assert.That(names.IdOf("CMSP"), Is.EqualTo(3));
        Assert.That(names.IdOf("DMSP"), Is.EqualTo(-1), "past the limit");
        Assert.That(names.IdOf("BMSP"), Is.EqualTo(b), "names already numbered keep their number");
        Assert.That(Enumerable.Range(0, 4).Select(names.NameOf), Is.EqualTo(NumberedNames));
    }

    [Test]
    public void FewerMatchesThanRequestedReturnsAllOfThem()
    {
        var table = NewTable();
        for (int i = 0; i < 10_000; i++)
        {
            table.Alive(i, 1, 1, org: i is 17 or 4_242 ? "RareMSP" : "Org1MSP");
        }

        var sample = new Member[5];
        Assert.That(table.Sample(sample, new OrgPeerFilter("RareMSP")), Is.EqualTo(2), "a filter matching few members still terminates");
        Assert.That(sample.Take(2).Select(m => m.Endpoint), Is.EquivalentTo(new[] { Endpoint(17), Endpoint(4_242) }));
        Assert.That(table.Sample(sample, new OrgPeerFilter("NoSuchMSP")), Is.Zero);
    }

    [Test]
    public void WorksWithZeroAndOneAliveMember()
    {
        var table = NewTable();
        var sample = new Member[3];
        Assert.That(table.Sample(sample), Is.Zero);
        Assert.That(table.Sample(Span<Member>.Empty), Is.Zero);

        table.Alive(1, 1, 1);
        var only = table.Get(1);
        Assert.That(table.Sample(sample), Is.EqualTo(1));
        Assert.That(sample[0], Is.SameAs(only));
        Assert.That(table.Sample(sample, new ExceptPeerFilter(only)), Is.Zero);

        table.MarkDead(only);
        Assert.That(table.Sample(sample), Is.Zero);
    }

    [Test]
    public void SamplesAreDeterministicForASeed()
    {
        Assert.That(Run(seed: 7), Is.EqualTo(Run(seed: 7)));
        Assert.That(Run(seed: 7), Is.Not.EqualTo(Run(seed: 8)));

        static List<int> Run(int seed)
        {
            var table = NewTable(seed);
            for (int i = 0; i < 500; i++)
            {
                table.Alive(i, 1, 1);
            }

            var picks = new List<int>();
            var sample = new Member[3];
            for (int round = 0; round < 50; round++)
            {
                int n = table.Sample(sample);
                picks.AddRange(sample.Take(n).Select(m => BitConverter.ToInt32(m.PkiId)));
            }

            return picks;
        }
    }

    [TestCase(50, 3)]
    [TestCase(1_000, 3)]
    [TestCase(12, 3)]
    public void SamplesAreRoughlyUniform(int members, int k)
    {
        var table = NewTable(seed: 99);
        for (int i = 0; i < members; i++)
        {
            table.Alive(i, 1, 1);
        }

        // Remove a few, so the dense index has seen swap-removals.
        for (int i = 0; i < members; i += 7)
        {
            table.MarkDead(table.Get(i));
        }

        var alive = table.Members().Where(m => m.State == MemberState.Alive).ToList();
        var counts = alive.ToDictionary(m => m, _ => 0);
        var sample = new Member[k];
        int rounds = 200 * alive.Count / k;
        for (int round = 0; round < rounds; round++)
        {
            Assert.That(table.Sample(sample), Is.EqualTo(k));
            foreach (var member in sample)
            {
                counts[member]++;
            }
        }

        // Chi-square against uniform; deterministic (seeded), and the bound is far in the tail of the distribution
        // (mean = degrees of freedom, standard deviation = sqrt(2 df)).
        double expected = (double)rounds * k / alive.Count;
        double chiSquare = counts.Values.Sum(c => (c - expected) * (c - expected) / expected);
        int df = alive.Count - 1;
        Assert.That(chiSquare, Is.LessThan(df + (6 * Math.Sqrt(2.0 * df))), $"chi-square {chiSquare:F1} with {df} degrees of freedom");
        Assert.That(counts.Values.Min(), Is.GreaterThan(expected / 2));
    }
}
