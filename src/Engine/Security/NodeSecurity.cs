using System.Collections.Concurrent;
using Engine.Protocol;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Security;

/// <summary>Counts of what the node's security refused beyond bad signatures (read with Volatile).</summary>
internal sealed class NodeSecurityCounters
{
    /// <summary>A verified alive message whose membership names another org than its signer's identity.</summary>
    public long OrgMismatch;

    /// <summary>A state info or leadership message whose signer is not a member of the message's channel / org.</summary>
    public long NotMember;

    /// <summary>A membership response from a bootstrap peer of another org.</summary>
    public long ForeignBootstrap;

    /// <summary>Identities learned through identity pull.</summary>
    public long IdentitiesPulled;

    /// <summary>Identity pull items refused (malformed, untrusted, or not hashing to their PKI-ID).</summary>
    public long IdentitiesRefused;
}

/// <summary>The orgs of a channel this peer is in, or null when it is not in <paramref name="channel"/>.</summary>
internal delegate IReadOnlyCollection<string>? ChannelOrgsLookup(ReadOnlySpan<byte> channel);

/// <summary>
/// The node's side of identities and signatures (Fabric's MessageCryptoService and certStore in one): it signs this
/// peer's alive messages (the envelope's signature over its payload bytes, ECDSA P-256), puts the full certificate in them
/// only during <c>publishCertPeriod</c> after start, verifies every received alive, state-info and leadership envelope once
/// per (kind, PKI-ID, PeerTime) through the <see cref="VerifiedMessageCache"/>, keeps the latest verified alive envelope of
/// each member (membership responses carry those, signed by their owners, as Fabric's do), and serves and learns
/// identities by identity pull. Created only when the node has a credential; without one the node runs unsigned.
/// Thread-safe.
/// </summary>
internal sealed class NodeSecurity : IDisposable
{
    private readonly PeerCredential _credential;
    private readonly MessageSigner _signer;
    private readonly TimeProvider _time;
    private readonly long _publishCertUntil;
    private readonly byte[] _orgOnlyIdentity;
    private readonly ConcurrentDictionary<PkiId, byte[]> _aliveEnvelopes = new();
    private readonly ILogger _logger;

    /// <param name="credential">This peer's certificate and key.</param>
    /// <param name="trust">The org CAs this peer trusts.</param>
    /// <param name="time">The node's clock (publishCertPeriod, certificate expiry).</param>
    /// <param name="publishCertPeriod">How long after start alive messages carry the certificate.</param>
    /// <param name="maxIdentities">Cap of identities and kept alive envelopes (the membership table's cap).</param>
    /// <param name="logger">Refusals and learned identities.</param>
    public NodeSecurity(PeerCredential credential, TrustStore trust, TimeProvider time, TimeSpan publishCertPeriod, int maxIdentities, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(credential);
        ArgumentNullException.ThrowIfNull(trust);
        _credential = credential;
        _time = time;
        _logger = logger;
        _signer = new MessageSigner(credential);
        Identities = new IdentityRegistry(trust, Math.Max(1, maxIdentities), time);
        Identities.AddSelf(credential);
        Verifier = new SignatureVerifier(Identities, new VerifiedMessageCache(), logger);
        _publishCertUntil = time.GetTimestamp() + (long)(publishCertPeriod.TotalSeconds * time.TimestampFrequency);
        _orgOnlyIdentity = IdentityCodec.EncodeOrgOnly(credential.OrgId);
        MaxTrackedEnvelopes = Math.Max(1, maxIdentities);
    }

    public PkiId PkiId => _credential.PkiId;

    public string OrgId => _credential.OrgId;

    public IdentityRegistry Identities { get; }

    public SignatureVerifier Verifier { get; }

    public NodeSecurityCounters Counters { get; } = new();

    public int MaxTrackedEnvelopes { get; }

    /// <summary>Latest verified alive envelopes held (one per member).</summary>
    public int TrackedEnvelopes => _aliveEnvelopes.Count;

    /// <summary>This peer's full identity (org and certificate).</summary>
    public byte[] FullIdentity => _credential.Identity;

    /// <summary>The longest identity this peer puts in an alive message (its full identity).</summary>
    public int MaxIdentityLength => _credential.Identity.Length;

    /// <summary>
    /// The identity for this peer's alive message now: the full serialized identity (org and certificate) during
    /// publishCertPeriod, afterwards the org alone (peers that missed the certificate pull it).
    /// </summary>
    public byte[] AliveIdentity() => _time.GetTimestamp() < _publishCertUntil ? _credential.Identity : _orgOnlyIdentity;

    /// <summary>Bytes to reserve for an alive envelope's signature.</summary>
    public static int SignatureReserve => MessageSigner.MaxSignatureLength;

    /// <summary>Writes this peer's signed alive envelope; <paramref name="destination"/> needs AliveCodec.EnvelopeSize(fields, SignatureReserve).</summary>
    public int SealAlive(in AliveFields fields, Span<byte> destination) => _signer.SealAlive(fields, destination);

    /// <summary>
    /// Verifies an alive envelope (signature by the claimed PKI-ID's identity, through the cache) and that the org its
    /// membership names is the signer's org. False (counted and logged by the verifier) when it must be dropped.
    /// </summary>
    public bool AcceptAlive(ReadOnlySpan<byte> envelope, PeerEndpoint source)
    {
        if (!EnvelopeView.TryParse(envelope, out var view))
        {
            return Verifier.Verify(envelope, source).IsAccepted();
        }

        if (!Verifier.Verify(view, source).IsAccepted())
        {
            return false;
        }

        ReadOnlySpan<byte> claimedOrg = default;
        if (AliveCodec.TryParse(view.Content, out var alive))
        {
            IdentityCodec.TryReadOrg(alive.Identity, out claimedOrg);
        }

        return SignerOrgIs(view, claimedOrg, source);
    }

    /// <summary>
    /// The seam for the channel layer (state info and leadership envelopes): verifies the signature and that the signer's
    /// org is one of <paramref name="allowedOrgs"/> (the channel's orgs, or this peer's org for leadership). A refusal is
    /// counted (<see cref="SignatureVerifier.Counters"/> for a bad signature, <see cref="NodeSecurityCounters.NotMember"/>
    /// for a signer outside the orgs) and logged.
    /// </summary>
    public bool AcceptChannelMessage(in EnvelopeView view, PeerEndpoint source, IReadOnlyCollection<string> allowedOrgs)
    {
        var result = Verifier.Verify(view, source);
        if (!result.IsAccepted())
        {
            return false;
        }

        if (result == VerifyResult.NotSigned)
        {
            return true;
        }

        PkiId pki = default;
        if (!SignedMessage.TryRead(view, out var message) || !PkiId.TryRead(message.PkiId, out pki)
            || !Identities.TryGet(pki, out var identity) || !allowedOrgs.Contains(identity.OrgId))
        {
            Interlocked.Increment(ref Counters.NotMember);
            SecurityMetrics.Verifications.Add(1, SecurityMetrics.NotMember);
            SecurityLog.NotMember(_logger, SignedMessage.KindOf(view.ContentField), source, new ShortPkiId(pki), string.Join(",", allowedOrgs));
            return false;
        }

        return true;
    }

    /// <summary>The channel layer's answer to "which orgs are in this channel" (null until it attaches: every channel message is then refused).</summary>
    public ChannelOrgsLookup? ChannelOrgs { get; set; }

    /// <summary>
    /// The router's check of a state info or leadership envelope: the signature, then the signer's org against the
    /// channel's orgs (<see cref="ChannelOrgs"/>) — for leadership, only this peer's own org, and only if it is in the
    /// channel (leadership is decided among one org's peers). A message for a channel this peer is not in is refused.
    /// </summary>
    public bool AcceptChannelEnvelope(in EnvelopeView view, PeerEndpoint source)
    {
        var orgs = ChannelOrgs?.Invoke(view.Channel);
        IReadOnlyCollection<string> allowed = orgs is null ? []
            : view.ContentField == EnvelopeView.LeadershipContent ? (orgs.Contains(OrgId) ? [OrgId] : [])
            : orgs;
        return AcceptChannelMessage(view, source, allowed);
    }

    /// <summary>Signs an envelope payload for the channel layer; <paramref name="signature"/> needs <see cref="SignatureReserve"/> bytes.</summary>
    public int Sign(ReadOnlySpan<byte> payload, Span<byte> signature) => _signer.Sign(payload, signature);

    /// <summary>Keeps <paramref name="envelope"/> as the latest verified alive message of <paramref name="pkiId"/>.</summary>
    public void Remember(ReadOnlySpan<byte> pkiId, ReadOnlySpan<byte> envelope)
    {
        if (!PkiId.TryRead(pkiId, out var pki))
        {
            return;
        }

        if (_aliveEnvelopes.Count >= MaxTrackedEnvelopes && !_aliveEnvelopes.ContainsKey(pki))
        {
            return; // bounded like the membership table it mirrors
        }

        _aliveEnvelopes[pki] = envelope.ToArray();
    }

    /// <summary>The latest verified alive envelope of a member, if held.</summary>
    public bool TryGetAlive(ReadOnlySpan<byte> pkiId, out byte[] envelope)
    {
        envelope = [];
        return PkiId.TryRead(pkiId, out var pki) && _aliveEnvelopes.TryGetValue(pki, out envelope!);
    }

    /// <summary>Forgets a purged member's alive envelope and identity.</summary>
    public void Forget(ReadOnlySpan<byte> pkiId)
    {
        if (PkiId.TryRead(pkiId, out var pki) && pki != _credential.PkiId)
        {
            _aliveEnvelopes.TryRemove(pki, out _);
            Identities.Remove(pki);
        }
    }

    /// <summary>Counts and logs a membership response from a bootstrap peer that announces another org.</summary>
    public void RefuseForeignBootstrap(PeerEndpoint source, string org)
    {
        Interlocked.Increment(ref Counters.ForeignBootstrap);
        SecurityMetrics.Verifications.Add(1, SecurityMetrics.ForeignBootstrap);
        SecurityLog.ForeignBootstrap(_logger, source, org, OrgId);
    }

    public void Dispose() => _signer.Dispose();

    private bool SignerOrgIs(in EnvelopeView view, ReadOnlySpan<byte> claimedOrg, PeerEndpoint source)
    {
        if (!SignedMessage.TryRead(view, out var message) || !PkiId.TryRead(message.PkiId, out var pki) || !Identities.TryGet(pki, out var identity))
        {
            return false;
        }

        if (claimedOrg.IsEmpty || System.Text.Ascii.Equals(claimedOrg, identity.OrgId))
        {
            return true;
        }

        Interlocked.Increment(ref Counters.OrgMismatch);
        SecurityMetrics.Verifications.Add(1, SecurityMetrics.OrgMismatch);
        SecurityLog.OrgMismatch(_logger, source, new ShortPkiId(pki), System.Text.Encoding.UTF8.GetString(claimedOrg), identity.OrgId);
        return false;
    }
}
