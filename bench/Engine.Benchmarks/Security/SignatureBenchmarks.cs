using BenchmarkDotNet.Attributes;
using Engine.Protocol;
using Engine.Security;
using Engine.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine.Benchmarks.Security;

/// <summary>
/// The cost of authenticated heartbeats: signing an alive envelope (ECDSA P-256, SHA-256), verifying one afresh, and
/// verifying a copy already verified (the cache hit every further copy of a gossiped message takes).
/// </summary>
[MemoryDiagnoser]
public class SignatureBenchmarks : IDisposable
{
    private static readonly PeerEndpoint Source = PeerEndpoint.Loopback(7051);
    private readonly byte[] _buffer = new byte[1024];
    private OrgCertificateAuthority _ca = null!;
    private PeerCredential _peer = null!;
    private MessageSigner _signer = null!;
    private SignatureVerifier _verifier = null!;
    private SignatureVerifier _uncachedVerifier = null!;
    private byte[] _endpoint = null!;
    private byte[] _pkiId = null!;
    private byte[] _signed = null!;
    private byte[][] _distinct = null!;
    private int _next;
    private ulong _seq;

    [GlobalSetup]
    public void Setup()
    {
        _ca = OrgCertificateAuthority.Create("Org1");
        _peer = _ca.IssuePeer("peer0.Org1");
        _signer = new MessageSigner(_peer);
        var trust = new TrustStore();
        trust.Add("Org1", _ca.Certificate);
        _verifier = new SignatureVerifier(new IdentityRegistry(trust), new VerifiedMessageCache(), NullLogger.Instance);
        _verifier.Identities.AddSelf(_peer);
        _uncachedVerifier = new SignatureVerifier(new IdentityRegistry(trust), new VerifiedMessageCache(2), NullLogger.Instance);
        _uncachedVerifier.Identities.AddSelf(_peer);
        _endpoint = "127.0.0.1:7051"u8.ToArray();
        _pkiId = _peer.PkiId.ToArray();
        // Distinct signed messages cycled through a verifier whose cache holds two: every verification misses.
        _distinct = Enumerable.Range(0, 1024).Select(i => _buffer[.._signer.SealAlive(Fields(1000 + (ulong)i), _buffer)]).ToArray();
        if (_distinct.Any(d => _uncachedVerifier.Verify(d, Source) != VerifyResult.Verified))
        {
            throw new InvalidOperationException("setup: a distinct alive does not verify");
        }

        int n = _signer.SealAlive(Fields(1), _buffer);
        _signed = _buffer[..n];
        if (_verifier.Verify(_signed, Source) != VerifyResult.Verified || _verifier.Verify(_signed, Source) != VerifyResult.Cached)
        {
            throw new InvalidOperationException("setup: the signed alive does not verify");
        }
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _signer.Dispose();
        _peer.Dispose();
        _ca.Dispose();
        GC.SuppressFinalize(this);
    }

    private AliveFields Fields(ulong seq) => new() { PkiId = _pkiId, Endpoint = _endpoint, IncNum = 1_763_800_000_000_000_000, SeqNum = seq };

    /// <summary>Encode and sign one alive envelope.</summary>
    [Benchmark]
    public int SignAlive() => _signer.SealAlive(Fields(++_seq), _buffer);

    /// <summary>A full verification: parse, digest, cache miss, ECDSA verify.</summary>
    [Benchmark]
    public bool VerifyAlive() => _uncachedVerifier.Verify(_distinct[_next++ & 1023], Source) == VerifyResult.Verified;

    /// <summary>A copy of a verified message: parse, digest, cache hit.</summary>
    [Benchmark]
    public bool VerifyAliveCacheHit() => _verifier.Verify(_signed, Source) == VerifyResult.Cached;
}
