namespace Engine.Membership;

public sealed partial class MembershipTable
{
    /// <summary>
    /// Applies news about a member: adds it if unknown, otherwise moves it forward if and only if the news is newer
    /// than what the table holds (see <see cref="MemberState"/> for the order). Lock-free; allocates only when a member
    /// is added, restarts, or changes endpoints or metadata.
    /// </summary>
    /// <param name="pkiId">The member's PKI-ID.</param>
    /// <param name="announcement">What the message says.</param>
    /// <param name="timestamp">Now (a timestamp of the table's <see cref="TimeProvider"/>): becomes the member's last-seen time if the news is accepted.</param>
    /// <param name="member">The member afterwards (also for stale news); null when rejected.</param>
    /// <returns>What changed, for the caller's log line and counters.</returns>
    public MembershipChange Update(ReadOnlySpan<byte> pkiId, in MemberAnnouncement announcement, long timestamp, out Member? member)
    {
        member = null;
        if ((uint)(pkiId.Length - 1) >= (uint)_maxPkiIdLength || !MemberStateMachine.IsAnnounceable(announcement.State))
        {
            return MembershipChange.Rejected;
        }

        ulong hash = HashOf(pkiId);
        while (true)
        {
            var index = Volatile.Read(ref _index);
            var found = index.Find(pkiId, hash);
            if (found is null)
            {
                if (Interlocked.Increment(ref _members) > _maxMembers)
                {
                    Interlocked.Decrement(ref _members);
                    return MembershipChange.Rejected;
                }

                var scope = _orgs.GetOrAdd(announcement.Org, out bool secondOrg);
                if (scope is null)
                {
                    Interlocked.Decrement(ref _members);
                    return MembershipChange.Rejected; // OrgNames.MaxId organizations named in this process already
                }

                if (secondOrg)
                {
                    _tracker.IndexOrganizations();
                }

                var candidate = new Member(pkiId, scope.Id, in announcement, timestamp);
                found = index.InsertOrGet(candidate, hash, this);
                if (ReferenceEquals(found, candidate))
                {
                    OnAdded(candidate, announcement.State);
                    member = candidate;
                    return MembershipChange.Added;
                }

                // Another thread added this key first: apply the news to its member instead.
                Interlocked.Decrement(ref _members);
            }

            if (TryApply(found, in announcement, timestamp, out var change))
            {
                member = found;
                return change;
            }

            // The member was purged under us: the news re-adds the key as a new member (marking the purge first, in
            // case the purging thread has not yet, so the lookup skips it).
            found.MarkPurged();
        }
    }

    /// <summary>Applies news to a known member; false when the member turns out to be purged.</summary>
    private bool TryApply(Member member, in MemberAnnouncement announcement, long timestamp, out MembershipChange change)
    {
        // Compare endpoints and metadata before the compare-and-swap (a full fence), so the miss on the info overlaps
        // the one on the member's word instead of following it.
        var current = member.ReadCurrent(out ulong word);
        var info = Volatile.Read(ref member.Info);
        bool sameInfo = info.SameAs(in announcement);
        while (true)
        {
            if (word == MemberStateMachine.Sealed)
            {
                current = member.SuccessorOf(current);
                word = Volatile.Read(ref current.Word);
                continue;
            }

            if (word == MemberStateMachine.Purged)
            {
                change = MembershipChange.Stale;
                return false;
            }

            var from = MemberStateMachine.StateOf(word);
            switch (MemberStateMachine.Judge(in current, word, announcement.Time, announcement.State, out ulong next))
            {
                case MemberStateMachine.Verdict.Stale:
                    change = MembershipChange.Stale;
                    return true;

                case MemberStateMachine.Verdict.Advance:
                    ulong seen = Interlocked.CompareExchange(ref current.Word, next, word);
                    if (seen != word)
                    {
                        word = seen;
                        continue; // someone else moved it: judge again against what they wrote
                    }

                    OnStateChanged(member, from, announcement.State);
                    Accepted(member, in announcement, timestamp, sameInfo ? info : null);
                    NoteSeen(timestamp);
                    change = MemberStateMachine.Classify(from, announcement.State, newIncarnation: false);
                    return true;

                default:
                    var successor = new Incarnation(announcement.Time, announcement.State);
                    var committed = current.CommitSuccessor(successor);
                    if (!Seal(member, current, committed))
                    {
                        change = MembershipChange.Stale;
                        return false; // purged before it could be superseded
                    }

                    if (!ReferenceEquals(committed, successor))
                    {
                        // A concurrent update superseded it first: judge ours against that one.
                        current = member.ReadCurrent(out word);
                        continue;
                    }

                    Accepted(member, in announcement, timestamp, sameInfo ? info : null);
                    NoteSeen(timestamp);
                    change = MemberStateMachine.Classify(from, announcement.State, newIncarnation: announcement.Time.IncNum != current.IncNum);
                    return true;
            }
        }
    }

    /// <summary>
    /// Seals <paramref name="incarnation"/> (its word becomes <see cref="MemberStateMachine.Sealed"/>, above every
    /// valid word, so nothing more lands in it) and installs <paramref name="successor"/>. The thread whose
    /// compare-and-swap seals accounts the state change. False when a purge got there first.
    /// </summary>
    private bool Seal(Member member, IncarnationRef incarnation, Incarnation successor)
    {
        while (true)
        {
            ulong word = Volatile.Read(ref incarnation.Word);
            if (word == MemberStateMachine.Purged)
            {
                return false;
            }

            if (word == MemberStateMachine.Sealed)
            {
                break;
            }

            if (Interlocked.CompareExchange(ref incarnation.Word, MemberStateMachine.Sealed, word) == word)
            {
                member.SuccessorOf(incarnation);
                OnStateChanged(member, MemberStateMachine.StateOf(word), successor.InitialState);
                return true;
            }
        }

        member.SuccessorOf(incarnation);
        return true;
    }

    /// <summary>
    /// After accepted news: the member was heard from, and its endpoints or metadata may have changed (unless
    /// <paramref name="unchanged"/>, the info already found equal to the news, is still the member's). Only the thread
    /// whose compare-and-swap accepted the news gets here, and it installs the news's info only while that news is
    /// still the member's newest: a newer accepted message installs its own.
    /// </summary>
    private static void Accepted(Member member, in MemberAnnouncement announcement, long timestamp, MemberInfo? unchanged)
    {
        member.Touch(timestamp);
        var info = Volatile.Read(ref member.Info);
        if (ReferenceEquals(info, unchanged) || info.SameAs(in announcement))
        {
            return;
        }

        var replacement = MemberInfo.For(member.PkiId, in announcement);
        while (true)
        {
            member.GetState(out var time);
            if (time > announcement.Time)
            {
                return;
            }

            var seen = Interlocked.CompareExchange(ref member.Info, replacement, info);
            if (ReferenceEquals(seen, info) || seen.SameAs(in announcement))
            {
                return;
            }

            info = seen;
        }
    }

    /// <summary>
    /// Suspects an alive member at its current time (SWIM-style modes). Lock-free; returns
    /// <see cref="MembershipChange.Suspected"/>, or <see cref="MembershipChange.Stale"/> if it was not alive.
    /// </summary>
    public MembershipChange MarkSuspect(Member member) => Demote(member, MemberState.Suspect);

    /// <summary>
    /// Declares a member dead at its current time (a send to it failed, or it expired). Only news with a newer time
    /// brings it back. Lock-free; returns <see cref="MembershipChange.Died"/>, or <see cref="MembershipChange.Stale"/>
    /// if it was already dead or purged.
    /// </summary>
    public MembershipChange MarkDead(Member member) => Demote(member, MemberState.Dead);

    private MembershipChange Demote(Member member, MemberState target)
    {
        ArgumentNullException.ThrowIfNull(member);
        while (true)
        {
            var current = member.ReadCurrent(out ulong word);
            if (!MemberStateMachine.TryDemote(word, target, out ulong next))
            {
                return MembershipChange.Stale;
            }

            if (Interlocked.CompareExchange(ref current.Word, next, word) == word)
            {
                var from = MemberStateMachine.StateOf(word);
                OnStateChanged(member, from, target);
                return MemberStateMachine.Classify(from, target, newIncarnation: false);
            }
        }
    }
}
