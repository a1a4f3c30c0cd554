using BenchmarkDotNet.Attributes;
using Engine.Discovery;
using Engine.Membership;
using Engine.Transport;
using PeerTime = Engine.Membership.PeerTime;

namespace Engine.Benchmarks.Discovery;

/// <summary>
/// The two walks of a membership sync request over a table of <see cref="Members"/>: the asker building its known filter
/// (<c>Build</c>: one filter of 2 bytes per member, allocated, per request), and the responder checking each member it
/// holds against that filter (<c>CheckEveryMember</c>, the walk of an answer without the encoding: here every member is
/// in the filter, the case of views that differ in a few members only). Both walk the whole table: divide by
/// <see cref="Members"/> for the cost per member. At N = 10,000 in one process these walks were 83% of the CPU late in
/// the mass start: what the per-member key hash in the info record (MemberInfo.KeyHash) is for. In Swim mode a filter
/// now serves a round of requests and is kept up to date by <c>AddOneMember</c> per recorded change.
/// </summary>
[MemoryDiagnoser]
public class KnownFilterBenchmarks
{
    private MembershipTable _table = null!;
    private byte[] _filter = [];
    private ulong _seed = 1;

    [Params(1_000, 10_000, 100_000)]
    public int Members { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(17);
        var time = TimeProvider.System;
        _table = new MembershipTable(new MembershipOptions { MaxMembers = Members + 16, InitialCapacity = Members }, time, random);
        long now = time.GetTimestamp();
        var pkiId = new byte[32];
        for (int i = 0; i < Members; i++)
        {
            random.NextBytes(pkiId);
            var announcement = new MemberAnnouncement(new PeerTime(1, (ulong)i + 1), MemberState.Alive, PeerEndpoint.FromIPv4(0x0B00_0000u + (uint)i, 7051), default, "Org1");
            _table.Update(pkiId, in announcement, now, out _);
        }

        _filter = KnownFilter.Build(_table, _seed);
    }

    [Benchmark]
    public int Build()
    {
        var filter = KnownFilter.Build(_table, ++_seed);
        return filter.Length / Members;
    }

    /// <summary>
    /// Keeping a Swim-mode sync filter up to date: one member added at a new time (what every change a peer records
    /// costs; allocates nothing). One call, whatever <see cref="Members"/> (the filter is sized for them).
    /// </summary>
    [Benchmark]
    public int AddOneMember()
    {
        KnownFilter.Add(_filter, ++_seed, new PeerTime(2, _seed));
        return _filter[9];
    }

    [Benchmark]
    public int CheckEveryMember()
    {
        int held = 0;
        foreach (var member in _table)
        {
            member.GetState(out var time);
            held += KnownFilter.MayContain(_filter, member.KeyHash, time) ? 1 : 0;
        }

        return held;
    }
}
