using System.Collections.Concurrent;

namespace Engine.Security;

/// <summary>The outcome of <see cref="IdentityRegistry.TryLearn"/>.</summary>
internal enum LearnResult
{
    /// <summary>Already known: the same identity bytes are registered under that PKI-ID.</summary>
    Known,

    /// <summary>Validated and registered.</summary>
    Learned,

    /// <summary>The trust store refused it (see the verdict and reason).</summary>
    Refused,

    /// <summary>The registry holds its maximum of identities.</summary>
    Full,
}

/// <summary>
/// Fabric's identity mapper: PKI-ID → validated identity (org, certificate, public key). Identities enter only through
/// the <see cref="TrustStore"/>, so an attacker cannot fill it without certificates from a trusted CA; a cap bounds it
/// anyway. Lookups are lock-free and allocation-free.
/// </summary>
internal sealed class IdentityRegistry
{
    /// <summary>Default cap on identities held.</summary>
    public const int DefaultCapacity = 100_000;

    private readonly ConcurrentDictionary<PkiId, KnownIdentity> _identities = new();
    private readonly int _capacity;

    public IdentityRegistry(TrustStore trust, int capacity = DefaultCapacity, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(trust);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        Trust = trust;
        _capacity = capacity;
        Time = time ?? TimeProvider.System;
    }

    public TrustStore Trust { get; }

    public TimeProvider Time { get; }

    public int Count => _identities.Count;

    /// <summary>Every identity held (a live view; for identity pull digests, not hot paths).</summary>
    public IEnumerable<KnownIdentity> All => _identities.Values;

    public bool TryGet(in PkiId pkiId, out KnownIdentity identity) => _identities.TryGetValue(pkiId, out identity!);

    /// <summary>Registers the local peer's own identity (its signatures verify like anyone's).</summary>
    public KnownIdentity AddSelf(PeerCredential self)
    {
        var result = TryLearn(self.Identity, out var known, out var verdict, out string? reason);
        return result is LearnResult.Known or LearnResult.Learned
            ? known!
            : throw new InvalidOperationException($"own identity is not trusted ({verdict}): {reason}");
    }

    /// <summary>Validates identity bytes and registers them under their PKI-ID.</summary>
    public LearnResult TryLearn(ReadOnlySpan<byte> identity, out KnownIdentity? known, out CertificateVerdict verdict, out string? reason)
    {
        if (IdentityCodec.TryDecode(identity, out var org, out var der))
        {
            // Known bytes are not parsed again: an identity rides in every alive message during publishCertPeriod.
            var pki = Compute(org, der);
            if (_identities.TryGetValue(pki, out var existing) && existing.Serialized.AsSpan().SequenceEqual(identity))
            {
                known = existing;
                verdict = CertificateVerdict.Trusted;
                reason = null;
                return LearnResult.Known;
            }
        }

        verdict = Trust.ValidateIdentity(identity, out known, out reason);
        if (verdict != CertificateVerdict.Trusted)
        {
            return LearnResult.Refused;
        }

        if (_identities.Count >= _capacity)
        {
            reason = $"identity registry holds its maximum of {_capacity} identities";
            known = null;
            return LearnResult.Full;
        }

        known = _identities.GetOrAdd(known!.PkiId, known);
        return LearnResult.Learned;
    }

    /// <summary>Forgets an identity (a purged member); false when it was not known.</summary>
    public bool Remove(in PkiId pkiId) => _identities.TryRemove(pkiId, out _);

    /// <summary>Forgets identities whose certificate has expired; returns how many.</summary>
    public int PurgeExpired()
    {
        var now = Time.GetUtcNow();
        int removed = 0;
        foreach (var entry in _identities)
        {
            if (entry.Value.NotAfter < now && _identities.TryRemove(entry))
            {
                removed++;
            }
        }

        return removed;
    }

    private static PkiId Compute(ReadOnlySpan<byte> orgUtf8, ReadOnlySpan<byte> der)
    {
        Span<byte> hash = stackalloc byte[PkiId.Length];
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        sha.AppendData(orgUtf8);
        sha.AppendData(der);
        sha.GetHashAndReset(hash);
        PkiId.TryRead(hash, out var id);
        return id;
    }
}
