using System.Buffers.Binary;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using Engine.Benchmarks.Gate;
using Engine.Membership;
using Engine.Transport;

namespace Engine.Benchmarks.Membership;

/// <summary>
/// The membership table's hot paths at 1 k, 100 k and 1 M members: a heartbeat (seq bump of a random known member),
/// a lookup by PKI-ID, and a sample of 3 alive peers under a filter. Members are spread over two organizations, so the
/// org filter matches half of them. PKI-IDs are 32 pseudo-random bytes computed from the member's number (as cheap as
/// reading them from a packet, and without a key array whose cache misses would be charged to the table).
/// The setup prints the memory the table retains per member. The CI gate runs the 100 k case only (building the 1 M table
/// for every case would take most of the gate's time budget).
/// </summary>
[MemoryDiagnoser]
[Gated(Params = "Members=100000")]
public class MembershipBenchmarks
{
    private const string Org1 = "Org1MSP";
    private const string Org2 = "Org2MSP";

    private readonly Member[] _sample = new Member[3];
    private MembershipTable _table = null!;
    private Member _sender = null!;
    private ulong _random = 0x2545F4914F6CDD1DUL;
    private ulong _seq;
    private Slot[] _reference = [];
    private Slot _cursor = null!;
    private MembershipTable.Enumerator _walk;

    [Params(1_000, 100_000, 1_000_000)]
    public int Members { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        long retainedBefore = GC.GetTotalMemory(forceFullCollection: true);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var options = new MembershipOptions { InitialCapacity = Members, MaxMembers = Members };
        _table = new MembershipTable(options, TimeProvider.System, new Random(42));
        Span<byte> key = stackalloc byte[32];
        for (int i = 0; i < Members; i++)
        {
            WriteKey(i, key);
            var announcement = new MemberAnnouncement(new PeerTime(1, 0), MemberState.Alive, Endpoint(i), org: i % 2 == 0 ? Org1 : Org2);
            if (_table.Update(key, announcement, 0, out _) != MembershipChange.Added)
            {
                throw new InvalidOperationException($"member {i} was not added");
            }
        }

        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        long retained = GC.GetTotalMemory(forceFullCollection: true) - retainedBefore;
        GC.KeepAlive(_table);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"// membership: {Members:N0} members retain {(double)retained / Members:F1} B/member (table, index and sampling array; allocated while building: {(double)allocated / Members:F1} B/member)"));

        WriteKey(0, key);
        _sender = _table.Find(key)!;
        _seq = 1;

        // The gate's yardstick: one object per member, reached through an array at random — a single dependent cache
        // miss over a working set of the same order, so machine memory latency cancels out of the ratio.
        _reference = new Slot[Members];
        for (int i = 0; i < Members; i++)
        {
            _reference[i] = new Slot { Value = i };
        }

        // The same objects linked in one random cycle, for the dependent-read reference.
        var order = Enumerable.Range(0, Members).ToArray();
        new Random(7).Shuffle(order);
        for (int i = 0; i < Members; i++)
        {
            _reference[order[i]].Next = _reference[order[(i + 1) % Members]];
        }

        _cursor = _reference[order[0]];
        _walk = _table.GetEnumerator();
    }

    /// <summary>The gate's reference: a random read of one object among <see cref="Members"/>.</summary>
    [Benchmark(Baseline = true)]
    public long RandomReadReference() => _reference[Next()].Value;

    /// <summary>
    /// One random read among <see cref="Members"/> objects whose address comes from the previous read (a walk around a
    /// random cycle): reads cannot overlap, so this is the machine's latency for one cache and TLB miss over this working
    /// set — the floor under any lookup that must reach a member at random (a lookup reaches an index cell, then the member).
    /// </summary>
    [Benchmark]
    public long DependentReadReference()
    {
        var next = _cursor.Next!;
        _cursor = next;
        return next.Value;
    }

    [Benchmark]
    public MembershipChange Update()
    {
        Span<byte> key = stackalloc byte[32];
        int i = Next();
        WriteKey(i, key);
        var announcement = new MemberAnnouncement(new PeerTime(1, _seq++), MemberState.Alive, Endpoint(i), org: i % 2 == 0 ? Org1 : Org2);
        var change = _table.Update(key, announcement, 1, out _);
        GateInjection.Apply();
        return change;
    }

    [Benchmark]
    public Member? Lookup()
    {
        Span<byte> key = stackalloc byte[32];
        WriteKey(Next(), key);
        return _table.Find(key);
    }

    /// <summary>
    /// A walk over every member reading its state and time (what a membership response, a known filter and an expiry
    /// pass do): the time per member visited. The members lie in memory in insertion order and the walk goes in index
    /// order, so each is a miss of its own over large tables.
    /// </summary>
    [Benchmark(OperationsPerInvoke = 1_000)]
    public ulong Enumerate()
    {
        // 1,000 members per operation, resuming where the last walk stopped, so a 1 M table costs what a 1 k one does.
        ulong sum = 0;
        for (int i = 0; i < 1_000; i++)
        {
            if (!_walk.MoveNext())
            {
                _walk = _table.GetEnumerator();
                _walk.MoveNext();
            }

            _walk.Current.GetState(out var time);
            sum += time.SeqNum;
        }

        return sum;
    }

    /// <summary>Three peers of the sender's organization, not the sender: from the organization's own sampling index.</summary>
    [Benchmark]
    public int SampleOrgExceptSender() => _table.SampleOrg(Org1, _sample, new ExceptPeerFilter(_sender));

    /// <summary>The same through the generic filter over all members (rejects the other half).</summary>
    [Benchmark]
    public int SampleFilteredByOrg() => _table.Sample(_sample, new OrgPeerFilter(Org1, _sender));

    /// <summary>Three peers of any organization, not the sender.</summary>
    [Benchmark]
    public int SampleExceptSender() => _table.Sample(_sample, new ExceptPeerFilter(_sender));

    private sealed class Slot
    {
        public long Value;
        public Slot? Next;
#pragma warning disable CS0169, IDE0051 // padding: a member-sized object, so the reference touches as many cache lines
        private readonly long _pad1, _pad2, _pad3, _pad4, _pad5, _pad6;
#pragma warning restore CS0169, IDE0051
    }

    private int Next()
    {
        ulong x = _random;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        _random = x;
        return (int)((x >> 32) * (ulong)(uint)Members >> 32);
    }

    private static PeerEndpoint Endpoint(int i) => PeerEndpoint.FromIPv4(0x0A00_0000u | (uint)i, 7051);

    private static void WriteKey(int i, Span<byte> key)
    {
        ulong z = (ulong)i * 0x9E3779B97F4A7C15UL;
        for (int word = 0; word < 4; word++)
        {
            z += 0x9E3779B97F4A7C15UL;
            ulong v = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            v = (v ^ (v >> 27)) * 0x94D049BB133111EBUL;
            BinaryPrimitives.WriteUInt64LittleEndian(key[(word * 8)..], v ^ (v >> 31));
        }
    }
}
