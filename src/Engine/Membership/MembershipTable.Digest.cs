namespace Engine.Membership;

public sealed partial class MembershipTable
{
    // Seeds of the view digest's terms, fixed by the protocol (docs/PROTOCOL.md): peers in other processes must compute
    // the same term for the same member. One seed for a member not dead, another for a dead one.
    private const ulong ReachableTermSeed = 0x6A09E667F3BCC908UL;
    private const ulong DeadTermSeed = 0xBB67AE8584CAA73BUL;

    private long _digest;

    /// <summary>
    /// The view digest: the sum (wrapping) over the members not purged of <see cref="DigestTerm"/>: which PKI-IDs the
    /// table holds, and whether each is dead. Times are left out: a membership response's entries only teach a member
    /// the asker does not know, or bring back one it holds dead, so two tables with equal digests have nothing to
    /// teach each other, whatever the times they hold. Kept up to date by whoever accounts each change (one atomic
    /// add), so it costs nothing to read and nothing for a heartbeat that only moves a member's time.
    /// </summary>
    internal ulong Digest => (ulong)Volatile.Read(ref _digest);

    /// <summary>One member's share of a <see cref="Digest"/>.</summary>
    internal static ulong DigestTerm(ReadOnlySpan<byte> pkiId, bool dead) => PeerKey.Hash(pkiId, dead ? DeadTermSeed : ReachableTermSeed);

    /// <summary>
    /// The digest of everything but <paramref name="member"/> (null: the whole digest). The two reads are not one
    /// atomic snapshot: a change landing in between yields a digest no peer holds, which costs a full answer, never a
    /// wrong one.
    /// </summary>
    internal ulong DigestWithout(Member? member)
    {
        ulong digest = Digest;
        if (member is null)
        {
            return digest;
        }

        var state = member.State;
        return state == MemberState.Purged ? digest : digest - DigestTerm(member.PkiId, state == MemberState.Dead);
    }

    /// <summary>Moves the digest for a member going from <paramref name="from"/> to <paramref name="to"/> (either may be <see cref="MemberState.Purged"/>: absent).</summary>
    private void AdjustDigest(Member member, MemberState from, MemberState to)
    {
        bool wasDead = from == MemberState.Dead, isDead = to == MemberState.Dead;
        bool wasIn = from != MemberState.Purged, isIn = to != MemberState.Purged;
        if (wasIn == isIn && wasDead == isDead)
        {
            return; // alive <-> suspect: the digest does not tell them apart
        }

        var key = member.PkiId;
        ulong delta = (isIn ? DigestTerm(key, isDead) : 0) - (wasIn ? DigestTerm(key, wasDead) : 0);
        Interlocked.Add(ref _digest, (long)delta);
    }
}
