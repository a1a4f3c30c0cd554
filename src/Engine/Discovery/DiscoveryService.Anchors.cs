using System.Collections.Concurrent;
using Engine.Protocol;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Discovery;

/// <content>
/// Org boundaries at contact time. A bootstrap peer must be of this peer's org: one whose membership response says
/// otherwise is refused (logged) and nothing is learned from it. Anchor peers (from a channel's config block) are the
/// bridge to other orgs: each is sent a membership request (this peer's alive without its internal endpoint) until it
/// answers, at most <c>MaxConnectionAttempts</c> times, every bootstrap retry interval, and is never purged.
/// </content>
internal sealed partial class DiscoveryService
{
    private readonly ConcurrentDictionary<PeerEndpoint, AnchorContact> _anchors = new();
    private ITimer? _anchorTimer;

    /// <summary>
    /// True for an org whose peers this peer may learn of: its own, and (set by the channel layer) the orgs of the channels
    /// it joined. Null: only its own org. Peers of other orgs are refused (counted), so another org's peers are only ever
    /// learned through the channels' anchors, never through a misconfigured bootstrap peer.
    /// </summary>
    public Func<string, bool>? SharesChannelWith { get; set; }

    private long _otherOrgRefused;

    /// <summary>Alive messages and membership requests refused because their peer's org shares no channel with this peer.</summary>
    public long OtherOrgRefused => Interlocked.Read(ref _otherOrgRefused);

    private bool AcceptsOrg(string org) => _emitter.Boundary!.IsSameOrg(org) || (SharesChannelWith?.Invoke(org) ?? false);

    /// <summary>Anchor peers contacted so far that have answered.</summary>
    public int AnsweredAnchors => _anchors.Values.Count(a => Volatile.Read(ref a.Answered) != 0);

    /// <summary>
    /// Contacts the anchor peer <paramref name="endpoint"/> of <paramref name="org"/> (a no-op for this peer itself, an
    /// anchor already contacted, or an anchor of this org that is already a member).
    /// </summary>
    public void ConnectToAnchor(PeerEndpoint endpoint, string org)
    {
        bool otherOrg = !_emitter.Boundary!.IsSameOrg(org);
        if (!IsRunning || endpoint == Endpoint || endpoint == _settings.ExternalEndpoint || _anchors.ContainsKey(endpoint)
            || (otherOrg && _externalText.Length == 0))
        {
            return; // this peer itself, already contacted, or another org's anchor while this peer has no external endpoint to show it
        }

        var contact = new AnchorContact(endpoint, org);
        if (!_anchors.TryAdd(endpoint, contact))
        {
            return;
        }

        Protect(endpoint);
        DiscoveryLog.ContactingAnchor(_logger, Endpoint, endpoint, org);
        lock (_timers)
        {
            if (_anchorTimer is null && IsRunning)
            {
                var interval = _settings.BootstrapRetryInterval;
                _anchorTimer = _time.CreateTimer(static s => ((PeriodicJob)s!).Run(), new PeriodicJob(this, static s => s.AttemptAnchors()), interval, interval);
                _timers.Add(_anchorTimer);
            }
        }

        AttemptAnchor(contact);
    }

    private void AttemptAnchors()
    {
        foreach (var contact in _anchors.Values)
        {
            AttemptAnchor(contact);
        }
    }

    private void AttemptAnchor(AnchorContact contact)
    {
        if (Volatile.Read(ref contact.Answered) != 0 || Volatile.Read(ref contact.GaveUp) != 0)
        {
            return;
        }

        int attempt = Interlocked.Increment(ref contact.Attempts);
        if (attempt > _settings.MaxConnectionAttempts)
        {
            Volatile.Write(ref contact.GaveUp, 1);
            DiscoveryLog.BootstrapGaveUp(_logger, Endpoint, contact.Endpoint, attempt - 1);
            return;
        }

        var status = SendMembershipRequest(contact.Endpoint, BuildKnownFilter(), !_emitter.Boundary!.IsSameOrg(contact.Org));
        if (status != SendStatus.Sent && _bootstrapLog.TryAcquire(out long suppressed))
        {
            DiscoveryLog.BootstrapUnreachable(_logger, Endpoint, contact.Endpoint, status.ToString(), attempt, _settings.MaxConnectionAttempts,
                _settings.BootstrapRetryInterval, suppressed);
        }
    }

    /// <summary>
    /// The first entry of a membership response is the respondent's own alive message: a bootstrap peer of another org is
    /// refused there (logged once; no more attempts). Anchors answering mark their contact done.
    /// </summary>
    private bool RespondentMayTeach(PeerEndpoint source, ReadOnlySpan<byte> aliveContent)
    {
        if (_anchors.TryGetValue(source, out var anchor) && Interlocked.Exchange(ref anchor.Answered, 1) == 0)
        {
            int attempts = Volatile.Read(ref anchor.Attempts);
            DiscoveryLog.AnchorAnswered(_logger, Endpoint, source, anchor.Org, attempts);
        }

        foreach (var contact in _bootstrap)
        {
            if (contact.Endpoint != source)
            {
                continue;
            }

            if (!AliveCodec.TryParse(aliveContent, out var fields) || !_orgs.TryRead(fields.Identity, out string org) || _emitter.Boundary!.IsSameOrg(org))
            {
                return true;
            }

            if (Interlocked.Exchange(ref contact.GaveUp, 1) == 0)
            {
                DiscoveryMetrics.BootstrapFailures.Add(1);
                DiscoveryLog.BootstrapOtherOrg(_logger, Endpoint, source, org, _settings.OrgId);
            }

            return false;
        }

        return true;
    }

    private sealed class AnchorContact(PeerEndpoint endpoint, string org)
    {
        public readonly PeerEndpoint Endpoint = endpoint;
        public readonly string Org = org;
        public int Attempts;
        public int Answered;
        public int GaveUp;
    }
}
