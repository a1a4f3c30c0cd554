using System.Buffers.Binary;
using Engine.Membership;
using Engine.Transport;

namespace Engine.Tests.Membership;

/// <summary>Keys, announcements and tables for the membership tests. Time is explicit: no clock is read.</summary>
internal static class MembershipTestKit
{
    public static readonly TimeProvider Clock = TimeProvider.System;

    public static long Seconds(double seconds) => (long)(seconds * Clock.TimestampFrequency);

    /// <summary>A 32-byte PKI-ID derived from <paramref name="id"/> (distinct ids give distinct keys).</summary>
    public static byte[] Key(int id)
    {
        var key = new byte[32];
        BinaryPrimitives.WriteInt32LittleEndian(key, id);
        BinaryPrimitives.WriteUInt64LittleEndian(key.AsSpan(8), 0x5EED_0000_0000_0000UL ^ ((ulong)id * 0x9E3779B97F4A7C15UL));
        return key;
    }

    public static PeerEndpoint Endpoint(int id) => PeerEndpoint.FromIPv4(0x0A00_0000u | (uint)(id & 0xFFFFFF), 7051);

    public static MembershipTable NewTable(int seed = 1, int initialCapacity = 16, int maxMembers = 65_536) =>
        new(new MembershipOptions { InitialCapacity = initialCapacity, MaxMembers = maxMembers }, Clock, new Random(seed));

    public static MembershipChange Alive(this MembershipTable table, int id, ulong inc, ulong seq, long now = 0, string org = "Org1MSP") =>
        table.Update(Key(id), new MemberAnnouncement(new PeerTime(inc, seq), MemberState.Alive, Endpoint(id), org: org), now, out _);

    public static MembershipChange Announce(this MembershipTable table, int id, ulong inc, ulong seq, MemberState state, long now = 0) =>
        table.Update(Key(id), new MemberAnnouncement(new PeerTime(inc, seq), state, Endpoint(id), org: "Org1MSP"), now, out _);

    public static Member Get(this MembershipTable table, int id) =>
        table.Find(Key(id)) ?? throw new InvalidOperationException($"member {id} not found");

    public static List<Member> Members(this MembershipTable table)
    {
        var list = new List<Member>();
        foreach (var member in table)
        {
            list.Add(member);
        }

        return list;
    }
}
