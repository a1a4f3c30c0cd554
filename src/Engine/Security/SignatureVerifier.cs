using System.Security.Cryptography;
using Engine.Diagnostics;
using Engine.Protocol;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Security;

/// <summary>Counts of verdicts, for tests and the load generator (read with Volatile/Interlocked).</summary>
internal sealed class VerifierCounters
{
    public long Verified;
    public long Cached;
    public long Forged;
    public long Unsigned;
    public long UnknownIdentity;
    public long BadIdentity;
    public long ExpiredIdentity;
    public long Malformed;

    /// <summary>
    /// CPU time spent checking signed messages (cache lookups, identity validation, signature checks), in nanoseconds of the
    /// verifying threads' CPU clocks (<see cref="ThreadCpuClock"/>).
    /// </summary>
    public long VerifyNanoseconds;

    /// <summary><see cref="VerifyNanoseconds"/> as seconds.</summary>
    public double VerifySeconds => Volatile.Read(ref VerifyNanoseconds) / 1e9;

    public long Refused => Volatile.Read(ref Forged) + Volatile.Read(ref Unsigned) + Volatile.Read(ref UnknownIdentity)
        + Volatile.Read(ref BadIdentity) + Volatile.Read(ref ExpiredIdentity) + Volatile.Read(ref Malformed);
}

/// <summary>
/// Checks the signature of alive, state-info and leadership envelopes: ECDSA P-256 / SHA-256 over the payload bytes, with
/// the key of the identity registered under the PKI-ID the message claims. An identity riding in an alive message is
/// validated by the trust store and learned on the way. A verified message is remembered in the
/// <see cref="VerifiedMessageCache"/>, so its copies cost two SHA-256 passes and no signature check; a hit allocates
/// nothing. Whether a verified message is <em>newer</em> than what is held is the membership layer's question: a replay
/// verifies (or hits the cache) and then changes nothing there. Refusals are counted and logged, rate-limited, naming
/// the source endpoint and the claimed PKI-ID. Thread-safe.
/// </summary>
internal sealed class SignatureVerifier
{
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(1);

    private readonly IdentityRegistry _identities;
    private readonly VerifiedMessageCache _cache;
    private readonly ILogger _logger;
    private readonly LogRateLimiter _refusedLog;
    private readonly LogRateLimiter _unknownLog;

    public SignatureVerifier(IdentityRegistry identities, VerifiedMessageCache cache, ILogger logger)
    {
        _identities = identities;
        _cache = cache;
        _logger = logger;
        _refusedLog = new LogRateLimiter(identities.Time, LogInterval);
        _unknownLog = new LogRateLimiter(identities.Time, LogInterval);
    }

    public VerifierCounters Counters { get; } = new();

    public IdentityRegistry Identities => _identities;

    public VerifyResult Verify(ReadOnlySpan<byte> envelope, PeerEndpoint source)
    {
        if (!EnvelopeView.TryParse(envelope, out var view))
        {
            return Refuse(VerifyResult.Malformed, SignedKind.None, source, default, "the envelope does not parse");
        }

        return Verify(view, source);
    }

    public VerifyResult Verify(in EnvelopeView view, PeerEndpoint source)
    {
        var kind = SignedMessage.KindOf(view.ContentField);
        if (kind == SignedKind.None)
        {
            return VerifyResult.NotSigned;
        }

        long start = ThreadCpuClock.NowNanoseconds();
        var result = Verify(view, kind, source);
        Interlocked.Add(ref Counters.VerifyNanoseconds, ThreadCpuClock.NowNanoseconds() - start);
        return result;
    }

    private VerifyResult Verify(in EnvelopeView view, SignedKind kind, PeerEndpoint source)
    {
        if (!SignedMessage.TryRead(view, out var message))
        {
            return Refuse(VerifyResult.Malformed, kind, source, default, "the message content does not parse");
        }

        if (!PkiId.TryRead(message.PkiId, out var pki))
        {
            return Refuse(VerifyResult.Malformed, kind, source, default, $"the PKI-ID is {message.PkiId.Length} bytes, not {PkiId.Length}");
        }

        if (view.Signature.IsEmpty)
        {
            return Refuse(VerifyResult.Unsigned, kind, source, pki, "the envelope carries no signature");
        }

        if (view.Signature.Length > MessageSigner.MaxSignatureLength)
        {
            return Refuse(VerifyResult.Forged, kind, source, pki, $"a signature of {view.Signature.Length} bytes is no ECDSA P-256 signature");
        }

        var digest = Hash256.OfSignedPayload(view.Payload, view.Signature);
        if (_cache.Contains(kind, pki, message.Time, digest))
        {
            Interlocked.Increment(ref Counters.Cached);
            SecurityMetrics.Verifications.Add(1, SecurityMetrics.Cached);
            return VerifyResult.Cached;
        }

        if (!_identities.TryGet(pki, out var identity))
        {
            if (message.Identity.IsEmpty)
            {
                Interlocked.Increment(ref Counters.UnknownIdentity);
                SecurityMetrics.Verifications.Add(1, SecurityMetrics.UnknownIdentity);
                if (_logger.IsEnabled(LogLevel.Debug) && _unknownLog.TryAcquire(out long suppressed))
                {
                    SecurityLog.UnknownIdentity(_logger, new ShortPkiId(pki), kind, source, suppressed);
                }

                return VerifyResult.UnknownIdentity;
            }

            var learned = _identities.TryLearn(message.Identity, out var known, out var verdict, out string? reason);
            if (learned is LearnResult.Refused or LearnResult.Full)
            {
                SecurityMetrics.IdentitiesRefused.Add(1, SecurityMetrics.Reason(verdict));
                return Refuse(VerifyResult.BadIdentity, kind, source, pki, $"its identity was refused: {verdict}: {reason}");
            }

            if (known!.PkiId != pki)
            {
                return Refuse(VerifyResult.BadIdentity, kind, source, pki, $"it carries the identity of peer {known.PkiId.ToShortString()} ('{known.Certificate.Subject}')");
            }

            if (learned == LearnResult.Learned && _logger.IsEnabled(LogLevel.Information))
            {
                SecurityLog.IdentityLearned(_logger, new ShortPkiId(pki), known.OrgId, known.Certificate.Subject, source);
            }

            identity = known;
        }

        if (_identities.Time.GetUtcNow() > identity.NotAfter)
        {
            _identities.Remove(pki);
            return Refuse(VerifyResult.ExpiredIdentity, kind, source, pki, $"the certificate of org {identity.OrgId} expired at {identity.NotAfter:O}");
        }

        if (!identity.PublicKey.VerifyData(view.Payload, view.Signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence))
        {
            return Refuse(VerifyResult.Forged, kind, source, pki, $"the signature does not verify with the key of org {identity.OrgId}");
        }

        _cache.Add(kind, pki, message.Time, digest);
        Interlocked.Increment(ref Counters.Verified);
        SecurityMetrics.Verifications.Add(1, SecurityMetrics.Verified);
        return VerifyResult.Verified;
    }

    private VerifyResult Refuse(VerifyResult result, SignedKind kind, PeerEndpoint source, PkiId pki, string reason)
    {
        switch (result)
        {
            case VerifyResult.Forged:
                Interlocked.Increment(ref Counters.Forged);
                SecurityMetrics.Verifications.Add(1, SecurityMetrics.Forged);
                break;
            case VerifyResult.Unsigned:
                Interlocked.Increment(ref Counters.Unsigned);
                SecurityMetrics.Verifications.Add(1, SecurityMetrics.Unsigned);
                break;
            case VerifyResult.BadIdentity:
                Interlocked.Increment(ref Counters.BadIdentity);
                SecurityMetrics.Verifications.Add(1, SecurityMetrics.BadIdentity);
                break;
            case VerifyResult.ExpiredIdentity:
                Interlocked.Increment(ref Counters.ExpiredIdentity);
                SecurityMetrics.Verifications.Add(1, SecurityMetrics.ExpiredIdentity);
                break;
            default:
                Interlocked.Increment(ref Counters.Malformed);
                SecurityMetrics.Verifications.Add(1, SecurityMetrics.Malformed);
                break;
        }

        if (_refusedLog.TryAcquire(out long suppressed))
        {
            SecurityLog.MessageRefused(_logger, kind, source, new ShortPkiId(pki), reason, suppressed);
        }

        return result;
    }
}
