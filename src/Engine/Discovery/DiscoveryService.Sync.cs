using System.Buffers;
using System.Diagnostics;
using Engine.Membership;
using Engine.Protocol;
using Engine.Transport;
using Member = Engine.Membership.Member;
using PeerTime = Engine.Membership.PeerTime;

namespace Engine.Discovery;

/// <content>
/// Membership sync over framed TCP: a request carries the asker's alive message; the response lists the alive and dead
/// members the responder knows (its own alive message first), split over as many frames as
/// <see cref="ITransport.MaxFramePayload"/> requires. Sent to bootstrap peers, to dead members every reconnect
/// interval (the re-probe), and to <c>pullPeerNum</c> random alive peers every pull interval (Fabric's InitiateSync).
/// </content>
internal sealed partial class DiscoveryService
{
    private const int MaxSyncBackoff = 3;
    private const int MaxPooledEntries = 1 << 16;

    [ThreadStatic]
    private static Member[]? _syncScratch;

    [ThreadStatic]
    private static List<ResponseEntry>? _responseEntries;

    [ThreadStatic]
    private static List<ResponseEntry>? _responseDead;

    // Probing strategies' sync backoff, kept by the sync timer: requests in a row that taught nothing (at most
    // MaxSyncBackoff), ticks since the last request, and whether the last request's outcome is still to be judged.
    private int _syncQuiet;
    private int _syncTicks;
    private bool _syncRoundJudged = true;

    // Set by any membership response that taught something (any thread); read and cleared by the sync timer.
    private int _syncTaught;

    // Probing strategies: the known filter sync requests carry, kept up to date by OnChange; the requests that used it,
    // and the member count it has room for (see SyncFilter).
    private byte[]? _syncFilter;
    private int _syncFilterUses;
    private int _syncFilterCapacity;

    // The view digest this peer held when a responder last agreed with it (0: none since the last disagreement). While
    // the table's digest is still this, sync requests go without a known filter: a responder that agrees needs none,
    // and one that differs says so, and is asked again with the filter.
    private ulong _agreedDigest;

    /// <summary>Sends a membership request carrying a fresh alive message of this peer and the filter of what it holds.</summary>
    public SendStatus SendMembershipRequest(PeerEndpoint to) => SendMembershipRequest(to, BuildKnownFilter());

    /// <summary>A <see cref="KnownFilter"/> of the members this peer holds (alive, suspect or dead), with a fresh seed (empty when none).</summary>
    private byte[] BuildKnownFilter()
    {
        ulong seed;
        lock (_filterRandom)
        {
            seed = (ulong)_filterRandom.NextInt64();
        }

        return KnownFilter.Build(_table, seed);
    }

    /// <summary>
    /// The known filter for a sync request: in Fabric mode a new one (a round's requests share it); for a probing
    /// strategy, one kept up to date as the table changes (every change this peer records adds its member at its new
    /// time: <see cref="NoteInSyncFilter"/>), built anew with a fresh seed after <c>pullPeerNum</c> requests (a round's
    /// worth) or once the table outgrew the room it was sized with (a quarter more members than it held then). Each
    /// request used to build its own — a walk over the whole view, three per pull interval, one more per answer that
    /// disagreed: 18% of the CPU of the 10,000-peer mass start, 10% of its detection phase. Kept bits of a member purged since only leave out entries about it at that very time; a false
    /// positive hides a member from a round's requests at most, as it did from a Fabric-mode round's.
    /// </summary>
    private byte[] SyncFilter()
    {
        if (_strategy.SendsHeartbeats)
        {
            return BuildKnownFilter();
        }

        int count = _table.Count;
        var filter = Volatile.Read(ref _syncFilter);
        if (filter is { Length: > 0 } && count <= Volatile.Read(ref _syncFilterCapacity)
            && Interlocked.Increment(ref _syncFilterUses) <= _settings.SyncPeerNum)
        {
            Counters.FilterReused();
            return filter;
        }

        ulong seed;
        lock (_filterRandom)
        {
            seed = (ulong)_filterRandom.NextInt64();
        }

        int capacity = count + (count / 4) + 16;
        filter = KnownFilter.Build(_table, seed, capacity);
        Volatile.Write(ref _syncFilterCapacity, capacity);
        Volatile.Write(ref _syncFilterUses, 1);
        Volatile.Write(ref _syncFilter, filter);
        return filter;
    }

    /// <summary>A change this peer recorded: its member, at its time now, joins the kept sync filter (if any).</summary>
    private void NoteInSyncFilter(Member member)
    {
        if (Volatile.Read(ref _syncFilter) is { Length: > 0 } filter)
        {
            member.GetState(out var time);
            KnownFilter.Add(filter, member.KeyHash, time);
        }
    }

    /// <summary>Sends a membership request with <paramref name="knownFilter"/> (one filter serves a round of requests: see <see cref="SyncFilter"/>).</summary>
    /// <param name="to">The peer asked.</param>
    /// <param name="knownFilter">What this peer holds.</param>
    /// <param name="otherOrg">The peer is of another org (an anchor): this peer's alive goes without its internal endpoint.</param>
    /// <param name="responder">The member asked, when this peer holds it: the request then carries this peer's view digest without it, and a responder that agrees answers with itself only (never across orgs, where a responder discloses only part of its view).</param>
    /// <param name="filterless">The filter is left out on purpose (a responder agreed with this view, unchanged since): a responder that differs answers with its digest alone instead of in full. Otherwise a request without a filter (this peer holds no one alive) carries no digest and gets a full answer.</param>
    private SendStatus SendMembershipRequest(PeerEndpoint to, byte[] knownFilter, bool otherOrg = false, Member? responder = null, bool filterless = false)
    {
        if (otherOrg && _externalText.Length == 0)
        {
            return SendStatus.Unreachable; // without an external endpoint this peer is invisible to other orgs: it does not ask them
        }

        var alive = RentOwnAlive(out int aliveLength, withCertificate: true, forOtherOrg: otherOrg);
        byte[]? frame = null;
        try
        {
            ulong digest = responder is null || otherOrg || (knownFilter.Length == 0 && !filterless) ? 0 : _table.DigestWithout(responder);
            int size = MembershipMessages.RequestSize(aliveLength, knownFilter.Length, digest);
            frame = ArrayPool<byte>.Shared.Rent(size);
            int written = MembershipMessages.WriteRequest(frame, alive.AsSpan(0, aliveLength), knownFilter, digest);
            var status = _transport.SendFrame(to, frame.AsSpan(0, written));
            if (status == SendStatus.Sent)
            {
                Counters.RequestSent();
                Counters.FrameSent(written);
            }
            else
            {
                Counters.FrameSendFailed();
                DiscoveryLog.RequestNotSent(_logger, Endpoint, to, status);
            }

            return status;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(alive);
            if (frame is not null)
            {
                ArrayPool<byte>.Shared.Return(frame);
            }
        }
    }

    /// <summary>A membership request arrived: learn the asker from its alive message, then answer with the view.</summary>
    public void HandleMembershipRequest(PeerEndpoint source, ReadOnlySpan<byte> content, long now)
    {
        Counters.RequestReceived();
        if (!MembershipMessages.TryParseRequest(content, out var self, out var known, out ulong digest)
            || !EnvelopeView.TryParse(self, out var view) || view.ContentField != EnvelopeView.AliveContent)
        {
            BadInput(source, "a membership request", "it carries no valid self_information alive envelope", "membership-request");
            return;
        }

        if (_settings.Security is { } security && !AcceptSigned(security, source, self))
        {
            return; // a bad signature or an untrusted or unknown identity (counted and logged by the verifier): no answer at all
        }

        if (AliveCodec.TryParse(view.Content, out var askerFields) && _orgs.TryRead(askerFields.Identity, out string askerOrg) && !AcceptsOrg(askerOrg))
        {
            // A peer of an org this peer shares no channel with: not learned; told who answers (itself, if visible outside its org).
            Interlocked.Increment(ref _otherOrgRefused);
            SendMembershipResponse(source, default, askerOrg, selfOnly: true);
            return;
        }

        if (!TryRecord(source, view.Content, view.SecretEnvelope, MemberState.Alive, now, Hearsay.FirstHand, out var asker, out var change))
        {
            return; // malformed or refused (already logged), or sent by this very peer
        }

        if (change != MembershipChange.Stale)
        {
            _settings.Security?.Remember(asker!.PkiId, self);
        }

        string org = asker?.Org ?? string.Empty;
        if (digest != 0 && asker is not null && _emitter.Boundary!.IsSameOrg(org))
        {
            ulong mine = _table.DigestWithout(asker);
            if (mine == digest || known.IsEmpty)
            {
                // Equal: both views hold the same members, each on the same side of dead, so no entry could teach the
                // asker anything. Different, with no filter to answer by: the asker trusted an earlier agreement; this
                // digest tells it otherwise, and it asks again with its filter (cheaper than a full answer).
                if (mine == digest)
                {
                    Counters.ViewAgreed();
                }
                else
                {
                    Counters.ViewDiffered();
                }

                SendMembershipResponse(source, default, org, selfOnly: true, viewDigest: mine);
                return;
            }
        }

        if (!known.IsEmpty && !KnownFilter.IsValid(known))
        {
            BadInput(source, "a membership request's known filter", "its layout is malformed; answered in full", "membership-request");
            known = default;
        }

        SendMembershipResponse(source, known, org, asker: asker);
    }

    /// <summary>
    /// A membership response arrived: alive entries teach unknown members and revive dead ones (never forwarded); dead
    /// entries teach unknown members.
    /// </summary>
    public void HandleMembershipResponse(PeerEndpoint source, ReadOnlySpan<byte> content, long now)
    {
        Counters.ResponseReceived();
        if (_settings.Security is { } signed && IsForeignBootstrap(signed, source, content))
        {
            return;
        }

        int alive = 0, dead = 0, learned = 0;
        var reader = new MembershipMessages.ResponseReader(content);
        bool first = true;
        ReadOnlySpan<byte> respondent = default;
        while (reader.TryRead(out var envelope, out bool isDead))
        {
            if (!EnvelopeView.TryParse(envelope, out var view) || view.ContentField != EnvelopeView.AliveContent)
            {
                BadInput(source, "a membership response entry", "it is not an alive envelope", "membership-response");
                continue;
            }

            if (first && !RespondentMayTeach(source, view.Content))
            {
                return; // a bootstrap peer of another org: refused (logged), nothing learned from it
            }

            if (first)
            {
                respondent = view.Content;
            }

            first = false;
            _ = isDead ? dead++ : alive++;
            if (_settings.Security is { } security && !AcceptSigned(security, source, envelope))
            {
                continue;
            }

            if (TryRecord(source, view.Content, view.SecretEnvelope, isDead ? MemberState.Dead : MemberState.Alive, now, isDead ? Hearsay.OnlyIfUnknown : Hearsay.UnlessAlive, out var member, out var change)
                && change != MembershipChange.Stale)
            {
                _settings.Security?.Remember(member!.PkiId, envelope);
                learned++;
            }
        }

        if (learned > 0)
        {
            Counters.EntriesLearnedFromResponse(learned);
            Volatile.Write(ref _syncTaught, 1);
        }

        if (reader.Malformed)
        {
            BadInput(source, "a membership response", "malformed protobuf; the entries before the fault were used", "membership-response");
        }
        else if (reader.ViewDigest != 0)
        {
            JudgeViewDigest(reader.ViewDigest, respondent);
        }

        OnResponseFrom(source, alive, dead);
    }

    /// <summary>
    /// A response carried the responder's view digest instead of entries. Equal to this peer's (both without the other):
    /// the views agree, and this peer's next rounds go without a filter while its view stays as it is. Different: the
    /// views differ (or this peer's changed meanwhile); if this peer had trusted an earlier agreement, it asks again now,
    /// with its filter, and so do its next rounds.
    /// </summary>
    private void JudgeViewDigest(ulong theirs, ReadOnlySpan<byte> respondentAlive)
    {
        var responder = AliveCodec.TryParse(respondentAlive, out var fields) ? _table.Find(fields.PkiId) : null;
        if (responder is null)
        {
            return; // not learned (refused, or malformed: logged by TryRecord)
        }

        ulong mine = _table.Digest;
        if (_table.DigestWithout(responder) == theirs)
        {
            Volatile.Write(ref _agreedDigest, mine);
        }
        else if (Interlocked.Exchange(ref _agreedDigest, 0) != 0 && responder.State != MemberState.Dead)
        {
            SendMembershipRequest(responder.Endpoint, SyncFilter(), otherOrg: false, responder);
        }
    }

    /// <summary>
    /// Every pull interval: ask <c>pullPeerNum</c> random alive peers for their view (Fabric's InitiateSync). A probing
    /// strategy spreads changes itself, so there sync is for bulk state: it ticks <c>pullPeerNum</c> times per interval
    /// and asks one peer per tick (as many requests, spread out), each with a filter that already holds what the answers
    /// before it taught — three requests at once with one filter got three copies of whatever the asker lacked (at
    /// N = 2,000 on the memory network, 7.57 M entries sent for 4.15 M learned; spread, 4.24 M for 4.20 M). And it backs
    /// off: a request goes every 2^quiet ticks, quiet counting the requests in a row that taught nothing (at most 8
    /// ticks), and back to every tick as soon as one teaches something.
    /// </summary>
    private void SyncMembership()
    {
        int peers = _settings.SyncPeerNum;
        if (!_strategy.SendsHeartbeats)
        {
            peers = 1;

            // Responses arrive within the tick: by the next one the last request has taught something or nothing.
            if (Interlocked.Exchange(ref _syncTaught, 0) != 0)
            {
                _syncQuiet = 0;
            }
            else if (!_syncRoundJudged)
            {
                _syncQuiet = Math.Min(_syncQuiet + 1, MaxSyncBackoff);
            }

            _syncRoundJudged = true;
            if (++_syncTicks < 1 << _syncQuiet)
            {
                return;
            }

            _syncRoundJudged = false;
        }

        _syncTicks = 0;
        var scratch = _syncScratch;
        if (scratch is null || scratch.Length < peers)
        {
            _syncScratch = scratch = new Member[peers];
        }

        var picked = scratch.AsSpan(0, peers);
        int count = _table.Sample(picked);
        ulong agreed = Volatile.Read(ref _agreedDigest);
        bool trusted = agreed != 0 && _table.Digest == agreed;
        byte[]? filter = null;
        for (int i = 0; i < count; i++)
        {
            // Across orgs there is no digest (a responder discloses only part of its view): the filter always goes.
            bool otherOrg = !_emitter.Boundary!.IsSameOrg(picked[i].Org);
            bool filterless = trusted && !otherOrg;
            if (filterless)
            {
                Counters.FilterlessRequest();
            }

            SendMembershipRequest(picked[i].Endpoint, filterless ? [] : filter ??= SyncFilter(), otherOrg, picked[i], filterless);
        }

        picked.Clear();
    }

    /// <summary>Every reconnect interval: send each dead member a membership request; one that is back answers and lives again.</summary>
    private void ReprobeDead()
    {
        if (_strategy.ReprobeDead())
        {
            return;
        }

        List<(Member Member, bool OtherOrg)>? dead = null;
        foreach (var member in _table)
        {
            if (member.State == MemberState.Dead)
            {
                (dead ??= []).Add((member, !_emitter.Boundary!.IsSameOrg(member.Org)));
            }
        }

        if (dead is null)
        {
            return;
        }

        DiscoveryLog.ReprobingDead(_logger, Endpoint, dead.Count);
        var known = BuildKnownFilter();
        foreach (var (member, otherOrg) in dead)
        {
            SendMembershipRequest(member.Endpoint, known, otherOrg, member);
        }
    }

    /// <summary>Answers a request: this peer, then the members it sees, except the asker and those <paramref name="known"/> (a valid <see cref="KnownFilter"/> or empty) says the asker holds at that very time.</summary>
    /// <remarks>
    /// To a peer of another org (<paramref name="askerOrg"/>) the response lists only what the org boundary discloses:
    /// members of this org that have an external endpoint (at that endpoint, no internal one), members of third orgs,
    /// never the asker's own org; this peer itself only if it has an external endpoint.
    /// </remarks>
    private void SendMembershipResponse(PeerEndpoint to, ReadOnlySpan<byte> known, string askerOrg, bool selfOnly = false, Member? asker = null, ulong viewDigest = 0)
    {
        if (_settings.Security is { } security)
        {
            SendSignedMembershipResponse(to, known, security, askerOrg, selfOnly, asker, viewDigest);
            return;
        }

        // The snapshot's lists are the thread's own, reused (a response to a large view otherwise grows a fresh list of
        // tens of kilobytes every time); one nested on the same thread, while they are taken, gets new ones.
        var entries = _responseEntries ?? [];
        var dead = _responseDead ?? [];
        _responseEntries = _responseDead = null;
        try
        {
            SendSnapshot(to, known, askerOrg, selfOnly, asker, viewDigest, entries, dead);
        }
        finally
        {
            // Kept for the next response unless a huge view grew them (a thread does not hold megabytes for good).
            entries.Clear();
            dead.Clear();
            _responseEntries = entries.Capacity <= MaxPooledEntries ? entries : null;
            _responseDead = dead.Capacity <= MaxPooledEntries ? dead : null;
        }
    }

    /// <summary>Builds and sends a response (see <see cref="SendMembershipResponse"/>) with <paramref name="entries"/> and <paramref name="dead"/>, both empty, as scratch.</summary>
    private void SendSnapshot(PeerEndpoint to, ReadOnlySpan<byte> known, string askerOrg, bool selfOnly, Member? asker, ulong viewDigest, List<ResponseEntry> entries, List<ResponseEntry> dead)
    {
        var boundary = _emitter.Boundary!;
        bool otherOrg = !boundary.IsSameOrg(askerOrg);

        // A snapshot: this peer first (a fresh heartbeat), then alive members, then dead ones.
        if (!otherOrg || _externalText.Length > 0)
        {
            entries.Add(new(null, null, new PeerTime(_incarnation, NextOwnSeq()), false));
        }

        int omitted = 0;
        foreach (var member in _table)
        {
            if (selfOnly)
            {
                break;
            }

            if (ReferenceEquals(member, asker))
            {
                continue; // the asker itself: it never records news about itself
            }

            var info = Volatile.Read(ref member.Info);
            var state = member.GetState(out var time);
            if (state == MemberState.Purged)
            {
                continue;
            }

            if (otherOrg && !boundary.MayList(member.Org, !info.ExternalEndpoint.IsEmpty, askerOrg))
            {
                continue; // not disclosed across the org boundary
            }

            if (!known.IsEmpty && KnownFilter.MayContain(known, member.KeyHash, time))
            {
                omitted++;
                continue; // the asker holds it at this very time (in some state): it would ignore the entry, alive or dead
            }

            (state == MemberState.Dead ? dead : entries).Add(new ResponseEntry(member, info, time, state == MemberState.Dead));
        }

        entries.AddRange(dead);
        int budget = _transport.MaxFramePayload - MembershipMessages.ResponseOverhead;
        int frames = 0, skipped = 0, start = 0;
        Span<byte> endpointText = stackalloc byte[2 * EndpointText.MaxLength];
        while (start < entries.Count)
        {
            int size = 0, end = start;
            while (end < entries.Count)
            {
                int entrySize = MembershipMessages.EntrySize(AliveCodec.EnvelopeSize(FieldsOf(entries[end], endpointText, otherOrg), 0));
                if (size + entrySize > budget)
                {
                    break;
                }

                size += entrySize;
                end++;
            }

            if (end == start)
            {
                skipped++; // one member alone is larger than a frame (huge metadata): leave it out
                start++;
                continue;
            }

            SendResponseFrame(to, entries, start, end, size, endpointText, otherOrg, start == 0 ? viewDigest : 0);
            frames++;
            start = end;
        }

        if (skipped > 0)
        {
            DiscoveryLog.MemberTooLarge(_logger, Endpoint, to, _transport.MaxFramePayload, skipped);
        }

        Counters.Omitted(omitted);
        Counters.EntriesSentInResponse(entries.Count - skipped);
        DiscoveryLog.ResponseSent(_logger, Endpoint, to, entries.Count - skipped, frames);
    }

    private void SendResponseFrame(PeerEndpoint to, List<ResponseEntry> entries, int start, int end, int entriesSize, Span<byte> endpointText, bool otherOrg, ulong viewDigest)
    {
        int contentSize = entriesSize + MembershipMessages.ViewDigestSize(viewDigest);
        int total = MembershipMessages.ResponseSize(contentSize);
        var frame = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            var span = frame.AsSpan(0, total);
            int position = MembershipMessages.WriteResponseHeader(span, contentSize);
            for (int i = start; i < end; i++)
            {
                var fields = FieldsOf(entries[i], endpointText, otherOrg);
                int length = AliveCodec.EnvelopeSize(fields, 0);
                position += MembershipMessages.WriteEntryHeader(span[position..], entries[i].Dead, length);
                position += AliveCodec.Write(span[position..], fields, default);
            }

            position += MembershipMessages.WriteViewDigest(span[position..], viewDigest);

            Debug.Assert(position == total, "response size computed and written differ");
            var status = _transport.SendFrame(to, span);
            if (status == SendStatus.Sent)
            {
                Counters.ResponseSent();
                Counters.FrameSent(total);
            }
            else
            {
                Counters.FrameSendFailed();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    /// <summary>The alive message of a snapshot entry (the endpoint text is written into <paramref name="endpointText"/>).</summary>
    /// <remarks>
    /// A member of this org with an external endpoint is written at it, with its internal endpoint in the secret envelope
    /// for this org's peers (none for another org's); every other member at the endpoint it is reached at.
    /// </remarks>
    private AliveFields FieldsOf(in ResponseEntry entry, Span<byte> endpointText, bool otherOrg)
    {
        if (entry.Member is null)
        {
            return OwnFields(entry.Time.SeqNum, otherOrg) with { IncNum = entry.Time.IncNum };
        }

        var info = entry.Info!;
        var external = endpointText[..EndpointText.MaxLength];
        var secret = endpointText[EndpointText.MaxLength..];
        ReadOnlySpan<byte> endpoint, internalEndpoint = default;
        if (!info.ExternalEndpoint.IsEmpty && _emitter.Boundary!.IsSameOrg(entry.Member.Org))
        {
            endpoint = external[..EndpointText.Format(info.ExternalEndpoint, external)];
            internalEndpoint = otherOrg ? default : secret[..EndpointText.Format(info.Endpoint, secret)];
        }
        else
        {
            endpoint = external[..EndpointText.Format(info.Endpoint, external)];
        }

        string org = entry.Member.Org;
        return new AliveFields
        {
            PkiId = entry.Member.PkiId,
            Endpoint = endpoint,
            InternalEndpoint = internalEndpoint,
            Metadata = info.Metadata,
            IncNum = entry.Time.IncNum,
            SeqNum = entry.Time.SeqNum,
            Identity = org.Length == 0 ? default : _orgs.IdentityOf(org),
        };
    }

    /// <summary>One member of a response snapshot (null member: this peer).</summary>
    private readonly record struct ResponseEntry(Member? Member, MemberInfo? Info, PeerTime Time, bool Dead);
}
